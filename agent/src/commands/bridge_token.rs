//! `meet-agent bridge token`: the join token bridges read from `bridge.join`. On a
//! signaling node it is made from what the node runs (its `auth.DOMAIN` certificate, the
//! `jvb` password); with `--new`, before any machine exists, from a new certificate (its
//! key written to `--key-out`, for the signaling node's `bridge.auth_key`) and a new
//! password, so that one deployment can hand the same token to every machine at once.

use crate::bridge::{roles::RoleSettings, token::Token, xmpp_cert};
use crate::jitsi::secrets::Secrets;
use crate::paths::Paths;
use crate::vocab::Role;
use anyhow::{anyhow, bail, Context, Result};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// A token for a deployment that does not exist yet: prints it on stdout and writes the
/// certificate's private key to `key_out` (mode 0600; an existing file is refused).
pub fn new_token(domain: &str, host: Option<&str>, key_out: &Path) -> Result<String> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    crate::well_formed::check_fqdn(&domain).map_err(|r| {
        anyhow!("--domain {domain}: {r}; give the deployment's domain such as meet.example.org")
    })?;
    let pair = xmpp_cert::generate(&domain, time::OffsetDateTime::now_utc())?;
    let password = crate::bridge::token::generate_password()?;
    let token = Token::new(
        host.unwrap_or(&domain),
        crate::bridge::token::DEFAULT_PORT,
        &domain,
        &password,
        &pair.chain_pem(),
    )?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(key_out)
        .with_context(|| {
            format!(
                "cannot create {} for the key (it must not exist yet; choose another --key-out)",
                key_out.display()
            )
        })?;
    file.write_all(pair.key.pem().as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("failed to write the key to {}", key_out.display()))?;
    Ok(token.encode())
}

/// Which machines a node's token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Videobridges: the shared `jvb` account.
    Videobridge,
    /// Recorders: jibri's control account and the hidden `recorder` account.
    Recorder,
    /// SIP gateways: jigasi's account (the node offers phones: `[sip]` is set).
    Sip,
}

/// The token of this signaling node, from its configuration, its `auth.DOMAIN` certificate
/// (made by its first run) and its `jvb` password (for recorders: its `jibri` and
/// `recorder` passwords; for SIP gateways: its `jigasi` password). `roles` and `domain` are the node's settings.
pub fn node_token(
    paths: &Paths,
    roles: &RoleSettings,
    domain: Option<&str>,
    host: Option<&str>,
    kind: Kind,
) -> Result<String> {
    if roles.role != Role::Signaling {
        bail!(
            "this machine's server.role is \"{}\": only a signaling node has a token for bridges and recorders (set server.role = \"signaling\", or make a bridges' one with --new)",
            roles.role.as_str()
        );
    }
    if let (Some(token), Kind::Videobridge) = (&roles.join, kind) {
        // A pre-made token: the node adopted it; the same one goes to every bridge.
        return Ok(token.encode());
    }
    let domain = domain.ok_or_else(|| {
        anyhow!("server.domain is not set; a token names the deployment's domain")
    })?;
    let pair = xmpp_cert::installed(paths).ok_or_else(|| {
        anyhow!(
            "{} is missing: run `meet-agent run` on this signaling node first (its jitsi step makes it)",
            xmpp_cert::CERT
        )
    })?;
    let secrets = Secrets::load(paths)?
        .ok_or_else(|| anyhow!("no per-instance secrets yet: run `meet-agent run` first"))?;
    let host = host.unwrap_or(domain);
    let port = crate::bridge::token::DEFAULT_PORT;
    let token = match kind {
        Kind::Videobridge => {
            Token::new(host, port, domain, &secrets.jvb_password, &pair.chain_pem())?
        }
        Kind::Recorder => {
            // Made by the jitsi step's run that gave prosody the accounts; a secrets file
            // from before recorders existed has none until that run.
            if secrets.jibri_password.is_empty() || secrets.recorder_password.is_empty() {
                bail!("this node has no recorder accounts yet: run `meet-agent run` first");
            }
            Token::for_recorder(
                host,
                port,
                domain,
                &secrets.jibri_password,
                &secrets.recorder_password,
                &pair.chain_pem(),
            )?
        }
        Kind::Sip => {
            // prosody gets jigasi's account only on a node that offers phones.
            if secrets.jigasi_password.is_empty() {
                bail!("this node has no jigasi account yet: set [sip] (docs/sip.md) and run `meet-agent run` first");
            }
            Token::for_sip(
                host,
                port,
                domain,
                &secrets.jigasi_password,
                &pair.chain_pem(),
            )?
        }
    };
    Ok(token.encode())
}
