//! Per-instance secrets: made at an instance's first boot, never baked into an image, kept
//! 0600 in `/var/lib/meet-agent/secrets.json`, and never printed. A new instance (another
//! instance id) gets all new ones, so two machines from one image share none.

use crate::fsutil::{read_optional, write_atomic};
use crate::paths::Paths;
use anyhow::{anyhow, Context, Result};
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The secrets of one instance.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Secrets {
    /// The instance they were made for.
    pub instance_id: Option<String>,
    /// Password of jicofo's XMPP account `focus@auth.DOMAIN`.
    pub focus_password: String,
    /// Password of the videobridge's XMPP account `jvb@auth.DOMAIN`.
    pub jvb_password: String,
    /// coturn's `static-auth-secret`, shared with prosody's `external_service_secret`.
    pub turn_secret: String,
    /// The JWT app secret, when JWT authentication is on and none is configured.
    pub jwt_app_secret: String,
    /// Password of the recorders' control account `jibri@auth.DOMAIN` (empty in a file
    /// saved before recorders existed; [`Secrets::for_instance`] fills it in).
    #[serde(default)]
    pub jibri_password: String,
    /// Password of the recorders' hidden account `recorder@recorder.DOMAIN` (as above).
    #[serde(default)]
    pub recorder_password: String,
    /// Password of the SIP gateways' account `jigasi@auth.DOMAIN` (as above).
    #[serde(default)]
    pub jigasi_password: String,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Secrets {{ instance_id: {:?}, <redacted> }}",
            self.instance_id
        )
    }
}

/// Where they are kept.
pub fn file(paths: &Paths) -> std::path::PathBuf {
    paths.join("/var/lib/meet-agent/secrets.json")
}

/// `N` bytes from the kernel's random number generator (through ring).
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| anyhow!("the system's random number generator failed"))?;
    Ok(bytes)
}

/// 32 random characters (24 bytes, base64url): about 192 bits.
fn random_secret() -> Result<String> {
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<24>()?))
}

impl Secrets {
    /// Fresh secrets for `instance_id`.
    pub fn generate(instance_id: Option<String>) -> Result<Self> {
        Ok(Self {
            instance_id,
            focus_password: random_secret()?,
            jvb_password: random_secret()?,
            turn_secret: random_secret()?,
            jwt_app_secret: random_secret()?,
            jibri_password: random_secret()?,
            recorder_password: random_secret()?,
            jigasi_password: random_secret()?,
        })
    }

    /// Short SHA-256 fingerprints of each secret, safe to show: they reveal nothing of a
    /// 192-bit random value, and equal fingerprints on two machines mean a shared secret.
    pub fn fingerprints(&self) -> std::collections::BTreeMap<&'static str, String> {
        let short = |value: &str| {
            let digest = ring::digest::digest(&ring::digest::SHA256, value.as_bytes());
            format!("sha256:{}", crate::encoding::hex(&digest.as_ref()[..8]))
        };
        std::collections::BTreeMap::from([
            ("focus_password", short(&self.focus_password)),
            ("jvb_password", short(&self.jvb_password)),
            ("turn_secret", short(&self.turn_secret)),
            ("jwt_app_secret", short(&self.jwt_app_secret)),
            ("jibri_password", short(&self.jibri_password)),
            ("recorder_password", short(&self.recorder_password)),
            ("jigasi_password", short(&self.jigasi_password)),
        ])
    }

    /// The videobridge's MUC nickname: unique per instance (jicofo tells bridges apart by
    /// it) and derived from a secret, so it reveals nothing and needs no state of its own.
    pub fn bridge_nickname(&self) -> String {
        let digest = ring::digest::digest(
            &ring::digest::SHA256,
            format!("ryo-jitsi bridge nickname {}", self.jvb_password).as_bytes(),
        );
        format!("jvb-{}", crate::encoding::hex(&digest.as_ref()[..8]))
    }

    /// The saved secrets, if any.
    pub fn load(paths: &Paths) -> Result<Option<Self>> {
        let path = file(paths);
        match read_optional(&path)? {
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).with_context(|| {
                format!(
                    "{} is corrupt; remove it and run `meet-agent run --step secrets` to make new secrets (and `--step jitsi` to apply them)",
                    path.display()
                )
            }),
            None => Ok(None),
        }
    }

    /// The secrets of this instance: the saved ones when they belong to it, else new ones
    /// (saved before they are returned, so nothing uses a secret that is not on disk).
    /// Returns whether they were made now.
    pub fn for_instance(paths: &Paths, instance_id: Option<&str>) -> Result<(Self, bool)> {
        if let Some(mut saved) = Self::load(paths)? {
            if saved.instance_id.as_deref() == instance_id {
                // Secrets added by a later version are made once and kept; the others
                // stay as they were (changing them would break joined machines' logins).
                let mut added = false;
                for secret in [
                    &mut saved.jibri_password,
                    &mut saved.recorder_password,
                    &mut saved.jigasi_password,
                ] {
                    if secret.is_empty() {
                        *secret = random_secret()?;
                        added = true;
                    }
                }
                if added {
                    write_atomic(&file(paths), &serde_json::to_vec_pretty(&saved)?, 0o600)?;
                }
                return Ok((saved, false));
            }
        }
        let fresh = Self::generate(instance_id.map(str::to_string))?;
        write_atomic(&file(paths), &serde_json::to_vec_pretty(&fresh)?, 0o600)?;
        Ok((fresh, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_distinct_and_never_debug_printed() {
        let a = Secrets::generate(Some("i-1".into())).unwrap();
        let b = Secrets::generate(Some("i-1".into())).unwrap();
        assert_eq!(a.turn_secret.len(), 32);
        assert_ne!(a.turn_secret, b.turn_secret);
        assert_ne!(a.focus_password, a.jvb_password);
        let shown = format!("{a:?}");
        assert!(!shown.contains(&a.turn_secret) && !shown.contains(&a.focus_password));
    }
}
