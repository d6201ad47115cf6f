//! jitsi (every boot): renders the stack's configuration files the agent owns from its
//! config, the identity and the per-instance secrets. Files change only when their
//! content does; each has a local file for the operator's additions.

use super::{settings, Context, Outcome};
use crate::fsutil::{read_optional, write_atomic_for_group};
use crate::jitsi::coturn;
use crate::jitsi::secrets::Secrets;
use anyhow::Result;

/// Runs the jitsi step.
pub fn run(ctx: &mut Context<'_>) -> Result<Outcome> {
    let settings = settings(ctx)?;
    let Some(secrets) = Secrets::load(ctx.paths)? else {
        return Ok(Outcome::failed(
            "no per-instance secrets yet; run `meet-agent run --step secrets`, then `--step jitsi`",
        ));
    };
    let local = read_optional(&ctx.paths.join(coturn::LOCAL))?
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    let tls = (crate::paths::TLS_FULLCHAIN, crate::paths::TLS_PRIVKEY);
    let text = coturn::render(
        &settings.jitsi.turn,
        &ctx.identity,
        &secrets,
        tls,
        local.as_deref(),
    );
    // It holds the TURN secret: root and coturn's group only.
    let changed = write_atomic_for_group(
        &ctx.paths.join(coturn::PATH),
        text.as_bytes(),
        0o640,
        "turnserver",
    )?;
    Ok(Outcome::ok(format!(
        "{} {}; prosody, jicofo, videobridge and web configuration are not rendered by this build yet",
        coturn::PATH,
        if changed { "rendered" } else { "unchanged" }
    )))
}
