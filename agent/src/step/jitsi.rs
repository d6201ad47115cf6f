//! jitsi (every boot): renders the stack's configuration files the agent owns from its
//! config, the identity and the per-instance secrets, and gives prosody the internal
//! accounts (jicofo's `focus`, the bridge's `jvb`) those secrets' passwords. Files change
//! only when their content does; each has a local file for the operator's additions.

use super::{settings, Context, Outcome};
use crate::fsutil::{read_optional, write_atomic, write_atomic_for_group};
use crate::jitsi::prosody_accounts;
use crate::jitsi::secrets::Secrets;
use crate::jitsi::{coturn, prosody, AuthMode};
use crate::paths::{TLS_FULLCHAIN, TLS_PRIVKEY};
use anyhow::Result;

/// Runs the jitsi step.
pub fn run(ctx: &mut Context<'_>) -> Result<Outcome> {
    let settings = settings(ctx)?;
    let Some(secrets) = Secrets::load(ctx.paths)? else {
        return Ok(Outcome::failed(
            "no per-instance secrets yet; run `meet-agent run --step secrets`, then `--step jitsi`",
        ));
    };
    let j = &settings.jitsi;
    let mut done = Vec::new();
    let mut problems = Vec::new();

    let local = read_optional(&ctx.paths.join(coturn::LOCAL))?
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    let text = coturn::render(
        &j.turn,
        &ctx.identity,
        &secrets,
        (TLS_FULLCHAIN, TLS_PRIVKEY),
        local.as_deref(),
    );
    // It holds the TURN secret: root and coturn's group only.
    let changed = write_atomic_for_group(
        &ctx.paths.join(coturn::PATH),
        text.as_bytes(),
        0o640,
        "turnserver",
    )?;
    done.push(format!("{} {}", coturn::PATH, word(changed)));

    match &ctx.identity.domain {
        None => problems.push("prosody not configured: it needs server.domain".to_string()),
        Some(domain) => {
            let plugins = ctx.paths.join(prosody::JITSI_PLUGINS).is_dir();
            let jwt_secret = j
                .jwt_app_secret
                .as_ref()
                .map_or(secrets.jwt_app_secret.as_str(), |s| s.expose());
            let text = prosody::render(&prosody::Inputs {
                domain,
                auth: j.auth,
                jwt: j.jwt_app_id.as_deref().map(|id| (id, jwt_secret)),
                secrets: &secrets,
                turn: &j.turn,
                tls: (TLS_FULLCHAIN, TLS_PRIVKEY),
                jitsi_plugins: plugins,
            });
            let changed = write_atomic_for_group(
                &ctx.paths.join(prosody::PATH),
                text.as_bytes(),
                0o640,
                "prosody",
            )?;
            done.push(format!("{} {}", prosody::PATH, word(changed)));
            if j.auth == AuthMode::Jwt && !plugins {
                problems.push(
                    "JWT authentication needs Jitsi's prosody plugins (jitsi-meet-prosody), which this image lacks".into(),
                );
            }
            match accounts(ctx, domain, &secrets) {
                Ok(Some(message)) => done.push(message),
                Ok(None) => {}
                Err(e) => problems.push(format!("{e:#}")),
            }
        }
    }
    let message = format!(
        "{}; jicofo, videobridge and web configuration are not rendered by this build yet",
        done.join("; ")
    );
    Ok(if problems.is_empty() {
        Outcome::ok(message)
    } else {
        Outcome::degraded(format!("{}; {message}", problems.join("; ")))
    })
}

fn word(changed: bool) -> &'static str {
    if changed {
        "rendered"
    } else {
        "unchanged"
    }
}

/// Gives `focus@auth.DOMAIN` and `jvb@auth.DOMAIN` this instance's passwords, once per set
/// of passwords (their fingerprints are remembered, never the passwords), in prosody's
/// storage (`MEET_AGENT_PROSODY_DATA`, else /var/lib/prosody below the root).
fn accounts(ctx: &Context<'_>, domain: &str, secrets: &Secrets) -> Result<Option<String>> {
    let marker = ctx.paths.join("/var/lib/meet-agent/prosody-accounts");
    let prints = secrets.fingerprints();
    let wanted = format!(
        "{domain} {} {}\n",
        prints["focus_password"], prints["jvb_password"]
    );
    if read_optional(&marker)?.is_some_and(|b| b == wanted.as_bytes()) {
        return Ok(None);
    }
    let data = std::env::var_os("MEET_AGENT_PROSODY_DATA").map_or_else(
        || ctx.paths.join("/var/lib/prosody"),
        std::path::PathBuf::from,
    );
    let auth_host = format!("auth.{domain}");
    prosody_accounts::write(&data, &auth_host, "focus", &secrets.focus_password)?;
    prosody_accounts::write(&data, &auth_host, "jvb", &secrets.jvb_password)?;
    write_atomic(&marker, wanted.as_bytes(), 0o600)?;
    Ok(Some(format!(
        "prosody accounts focus@{auth_host} and jvb@{auth_host} set"
    )))
}
