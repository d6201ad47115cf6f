//! ddns (every boot, or as `dns.update_on` says): publish this server's address to the
//! configured dynamic DNS providers, each with retries until its deadline.

use super::{settings, Context, Outcome};
use crate::dns::Target;
use anyhow::Result;

/// When the updates are being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the certificate step.
    Boot,
    /// After the stack has started.
    AfterStart,
}

/// Runs the ddns step for `phase`.
pub async fn run(ctx: &mut Context<'_>, phase: Phase) -> Result<Outcome> {
    let settings = settings(ctx)?;
    let dns = &settings.dns;
    if dns.updates.is_empty() {
        return Ok(Outcome::not_configured(
            "no [[dns.update]] provider is configured",
        ));
    }
    let wanted = match phase {
        Phase::Boot => dns.on_boot || (dns.on_first_boot && ctx.first_boot),
        Phase::AfterStart => dns.after_start,
    };
    if !wanted {
        return Ok(Outcome::not_configured(
            "not on this boot (dns.update_on does not include it)",
        ));
    }
    let Some(target) = target(ctx) else {
        return Ok(Outcome::failed(
            "no public address is known to publish; set server.public_ipv4 or server.public_ip_url",
        ));
    };
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for update in &dns.updates {
        match update.send(&target, dns.update_timeout).await {
            Ok(answer) => done.push(format!("{} answered `{answer}`", update.label())),
            Err(e) => failed.push(e),
        }
    }
    let prefix = match phase {
        Phase::Boot => String::new(),
        Phase::AfterStart => "after start: ".into(),
    };
    let addresses = [
        target.ipv4.map(|a| a.to_string()),
        target.ipv6.map(|a| a.to_string()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let head = format!("{prefix}{} -> {addresses}", target.domain);
    Ok(if failed.is_empty() {
        Outcome::ok(format!("{head}: {}", done.join("; ")))
    } else {
        let mut all = failed;
        all.extend(done);
        Outcome::failed(format!("{head}: {}", all.join("; ")))
    })
}

/// The name and addresses to publish, when both are known.
pub fn target(ctx: &Context<'_>) -> Option<Target> {
    let id = &ctx.identity;
    let domain = id.domain.clone()?;
    if id.public_ipv4.is_none() && id.public_ipv6.is_none() {
        return None;
    }
    Some(Target {
        domain,
        ipv4: id.public_ipv4,
        ipv6: id.public_ipv6,
    })
}
