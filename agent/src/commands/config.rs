//! `config check` and `config show`.

use super::context::{say, Context};
use crate::cli::ConfigAction;

/// `meet-agent config check|show`.
pub async fn config(ctx: &Context, action: ConfigAction) -> anyhow::Result<u8> {
    let Some(effective) = ctx.effective().await else {
        return Ok(1);
    };
    match action {
        ConfigAction::Check => {
            if let Err(e) = check(ctx, &effective.settings, &effective.instance) {
                say(format!("{e:#}"));
                return Ok(1);
            }
            println!(
                "configuration is valid (instance source: {})",
                effective.instance.provider
            );
        }
        ConfigAction::Show => print!("{}", crate::config::show(&effective.config)?),
    }
    Ok(0)
}

/// What validation leaves to a check against the world: calendars (systemd's parser) and
/// supplied certificate material as of now, for the names the boot will want of it.
fn check(
    ctx: &Context,
    settings: &crate::config::Settings,
    instance: &crate::identity::InstanceData,
) -> anyhow::Result<()> {
    crate::config::check_calendars(&settings.calendars)?;
    if let Some(supplied) = &settings.tls_supplied {
        let domain = settings.domain.as_deref();
        let ip = crate::pipeline::public_ipv4_known(settings, instance, &*ctx.facts);
        crate::config::check_supplied(supplied, domain, ip, ctx.facts.now())?;
    }
    Ok(())
}
