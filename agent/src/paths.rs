//! Every file system location the agent touches, derived from one root.
//!
//! Production uses `/`; tests and image builds pass `--root DIR` so that the agent works on
//! a fixture tree without touching the host.

use std::path::{Path, PathBuf};

/// The installed web certificate's folder, as seen on the machine (what other services'
/// configuration names).
pub const TLS_DIR: &str = "/etc/meet-agent/tls";
/// The installed chain, leaf first.
pub const TLS_FULLCHAIN: &str = "/etc/meet-agent/tls/fullchain.pem";
/// The installed private key.
pub const TLS_PRIVKEY: &str = "/etc/meet-agent/tls/privkey.pem";

/// prosody's data folder (accounts, rosters), as Debian's prosody package sets it.
pub const PROSODY_DATA: &str = "/var/lib/prosody";
/// The videobridge's configuration file.
pub const VIDEOBRIDGE_CONF: &str = "/etc/jitsi/videobridge/jvb.conf";
/// jibri's configuration on a recorder (`jitsi::jibri::CONF`).
pub const JIBRI_CONF: &str = "/etc/jitsi/jibri/jibri.conf";

/// The locations the agent reads and writes, all below one root directory.
#[derive(Debug, Clone)]
pub struct Paths {
    root: PathBuf,
}

impl Paths {
    /// Paths below `root` (use `/` on a real machine).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root directory everything else is relative to.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `rel` (an absolute path on the target) placed below the root.
    pub fn join(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    /// Drop-in configuration folders, lowest precedence first: systemd's order for
    /// `*.d` folders, so the administrator's `/etc` overrides the runtime `/run`, which
    /// overrides the vendor's `/usr/lib` (a file a tool drops in /run never silently beats
    /// what the operator wrote in /etc).
    pub fn config_dirs(&self) -> [PathBuf; 3] {
        [
            self.join("/usr/lib/meet-agent/config.d"),
            self.join("/run/meet-agent/config.d"),
            self.join("/etc/meet-agent/config.d"),
        ]
    }

    /// What meet-agent-scale.service last did (`/run/meet-agent/scale.json`), for status.
    pub fn scale_file(&self) -> PathBuf {
        self.join("/run/meet-agent/scale.json")
    }

    /// The effective configuration of this boot's last successful load
    /// (`/run/meet-agent/effective.json`), secrets redacted, which the operations commands
    /// read instead of asking the instance source again.
    pub fn effective_file(&self) -> PathBuf {
        self.join("/run/meet-agent/effective.json")
    }

    /// prosody's main configuration.
    pub fn prosody_config(&self) -> PathBuf {
        self.join("/etc/prosody/prosody.cfg.lua")
    }

    /// prosody's data directory, where its accounts are.
    pub fn prosody_data(&self) -> PathBuf {
        self.join("/var/lib/prosody")
    }

    /// The persistent state file.
    pub fn state_file(&self) -> PathBuf {
        self.join("/var/lib/meet-agent/state.json")
    }

    /// Directory of the installed web certificate and key.
    pub fn tls_dir(&self) -> PathBuf {
        self.join(TLS_DIR)
    }

    /// Installed certificate chain (leaf first), the path nginx, prosody and coturn use.
    pub fn tls_fullchain(&self) -> PathBuf {
        self.join(TLS_FULLCHAIN)
    }

    /// Installed private key (mode 0600).
    pub fn tls_privkey(&self) -> PathBuf {
        self.join(TLS_PRIVKEY)
    }

    /// systemd's machine id, used as the instance id when the source has none.
    pub fn machine_id(&self) -> PathBuf {
        self.join("/etc/machine-id")
    }

    /// The lock one `run` (or `renew`) holds while it works.
    pub fn run_lock(&self) -> PathBuf {
        self.join("/var/lib/meet-agent/run.lock")
    }

    /// What the image build recorded about itself (OS, missing Jitsi packages).
    pub fn image_info(&self) -> PathBuf {
        self.join("/usr/share/ryo-jitsi/image.json")
    }
}
