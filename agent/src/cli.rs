//! The command line.

use crate::pipeline::StepName;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// meet-agent makes a ryo-jitsi image into this Jitsi Meet server and reports its health.
#[derive(Debug, Parser)]
#[command(name = "meet-agent", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// Treat DIR as the file system root (for image builds and tests).
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        default_value = "/",
        env = "MEET_AGENT_ROOT"
    )]
    pub root: PathBuf,
    /// More log detail: -v debug, -vv trace, -vvv trace for libraries too.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_CODES: &str = "Exit codes:
  run           0 no step failed, 1 a step failed or the state file could not be written
                (a full disk: the message says what to free), 2 configuration or instance
                data unusable
  renew         as run
  status        0 healthy, 1 degraded, 2 failed or not run
  config check  0 valid, 1 invalid
  user          0 done, 1 refused (the message says why)
  shutdown      0 requested or not required, 1 gave up or failed
  idle-check    0 checked (and powered off when due), 1 failed
  recording     0 done, 1 something failed (the files stay, the message says why)
  any command   2 on a usage error, 3 on an unexpected error";

/// Subcommands.
#[derive(Debug, Subcommand)]
// Each subcommand's arguments are built when it is the one given (clap's `defer`), not all
// of them at every start: code run once per process, which QEMU's TCG translates first. In
// instrumented boots under TCG clap took 15 to 16 ms with it and 16 to 45 ms without (a
// noisy measure: other services start beside the agent).
#[command(defer = true)]
pub enum Command {
    /// Run the first-boot pipeline (every step, or one with --step).
    Run {
        /// Rerun only this step (once-per-instance steps run again too).
        #[arg(long, value_enum)]
        step: Option<StepName>,
    },
    /// Renew the certificate when due: dns-wait and tls (meet-agent-renew.timer runs it).
    Renew {
        /// Only when the last certificate attempt failed (meet-agent-retry.timer runs this).
        #[arg(long)]
        retry: bool,
    },
    /// Show whether the server is healthy and why not.
    Status {
        /// Print the documented JSON shape (docs/status.md) instead of text.
        #[arg(long, conflicts_with = "brief")]
        json: bool,
        /// Print only the address, the health and the reasons (the login banner).
        #[arg(long)]
        brief: bool,
    },
    /// Check or show the effective configuration.
    Config {
        /// What to do with it.
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Manage the users who may open rooms (jitsi.auth = "secure-domain").
    User {
        /// What to do.
        #[command(subcommand)]
        action: crate::users::UserAction,
    },
    /// Power off (or reboot) without cutting a meeting short: waits while conferences
    /// run (schedule.postpone_minutes steps up to schedule.postpone_limit_minutes).
    Shutdown {
        /// Reboot instead of powering off (a reboot gives up at the limit instead).
        #[arg(long)]
        reboot: bool,
        /// Only when the system says a reboot is required (/run/reboot-required).
        #[arg(long)]
        if_required: bool,
        /// Why, for the log and status.
        #[arg(long, default_value = "requested")]
        reason: String,
    },
    /// Check whether the server is idle; power off once idle for
    /// schedule.idle_shutdown_minutes (meet-agent-idle.timer runs it every minute).
    IdleCheck,
    /// Certificate helpers.
    Cert {
        /// What to do.
        #[command(subcommand)]
        action: CertAction,
    },
    /// A videobridge in an AWS Auto Scaling group: publish its stress level to CloudWatch
    /// and drain it on scale-in (meet-agent-scale.service runs it; until power-off).
    Scale,
    /// Recordings: place a finished jibri session, list, upload to S3, prune
    /// (docs/recording.md).
    Recording {
        /// What to do.
        #[command(subcommand)]
        action: RecordingAction,
    },
    /// Videobridges on machines of their own (server.role = "signaling" / "videobridge").
    Bridge {
        /// What to do.
        #[command(subcommand)]
        action: BridgeAction,
    },
}

/// `bridge` subcommands.
#[derive(Debug, Subcommand)]
pub enum BridgeAction {
    /// Print the join token bridges put in `bridge.join`: this signaling node's, or with
    /// --new one for a deployment not made yet (its key goes to --key-out, for the
    /// signaling node's `bridge.auth_key`).
    Token {
        /// Make a new token instead of reading this node's.
        #[arg(long, requires_all = ["domain", "key_out"])]
        new: bool,
        /// The deployment's domain (with --new).
        #[arg(long)]
        domain: Option<String>,
        /// Where bridges connect (default: the domain).
        #[arg(long)]
        host: Option<String>,
        /// Where to write the new certificate's private key (with --new; must not exist).
        #[arg(long)]
        key_out: Option<PathBuf>,
        /// The token recorders (`server.role = "recorder"`) put in `bridge.join`: jibri's
        /// accounts instead of the bridges' (this signaling node's only).
        #[arg(long, conflicts_with = "new")]
        recorder: bool,
        /// The token SIP gateways (`server.role = "sip"`) put in `bridge.join`: jigasi's
        /// account instead of the bridges' (this signaling node's only).
        #[arg(long, conflicts_with_all = ["new", "recorder"])]
        sip: bool,
    },
}

/// `recording` subcommands.
#[derive(Debug, Subcommand)]
pub enum RecordingAction {
    /// Place the videos of jibri's session folder DIR under
    /// /var/lib/ryo-jitsi/recordings/<room>/<time>.mp4 and queue their upload (jibri's
    /// finalize script runs this, as jibri's user; it reads no configuration and returns at
    /// once: meet-agent-recording-upload.service uploads).
    Finalize {
        /// jibri's session folder (the videos and metadata.json).
        dir: PathBuf,
    },
    /// List the recordings on disk, and which wait for their upload and why.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Upload every recording on disk to recording.s3_bucket (deleting each local copy
    /// once S3 confirmed it); meet-agent-recording-upload.service runs this.
    Upload,
    /// Delete recordings on disk older than recording.keep_days, uploaded or not;
    /// meet-agent-recording-prune.timer runs this daily.
    Prune,
    /// Refuse recordings while the disk is nearly full (below recording.min_free_mib),
    /// stop one before it fills the disk, and start jibri again once there is room;
    /// meet-agent-recording-guard.timer runs this every 30 seconds.
    Guard,
}

/// `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Validate drop-ins and instance data; print the first problem and exit 1 if any.
    Check,
    /// Print the merged configuration with every secret redacted.
    Show,
}

/// `cert` subcommands.
#[derive(Debug, Subcommand)]
pub enum CertAction {
    /// Print FILE as gzip+base64 on one line, for tls.certificate or tls.key.
    Encode {
        /// A PEM certificate chain or key.
        file: PathBuf,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn every_deferred_subcommand_is_well_formed() {
        // clap's own checks, over every subcommand (building the tree builds the deferred
        // ones too).
        Cli::command().debug_assert();
    }

    #[test]
    fn a_deferred_subcommand_takes_its_own_and_the_global_arguments_in_any_order() {
        let cli = Cli::try_parse_from(["meet-agent", "-v", "run", "--root", "/r", "--step", "tls"])
            .expect("parsed");
        assert_eq!(cli.root, PathBuf::from("/r"));
        assert_eq!(cli.verbose, 1);
        assert!(matches!(
            cli.command,
            Command::Run {
                step: Some(StepName::Tls)
            }
        ));
        let cli = Cli::try_parse_from(["meet-agent", "config", "check"]).expect("parsed");
        assert!(matches!(
            cli.command,
            Command::Config {
                action: ConfigAction::Check
            }
        ));
        let refused = Cli::try_parse_from(["meet-agent", "run", "--no-such-flag"]);
        assert!(refused.is_err());
    }
}
