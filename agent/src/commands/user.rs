//! `user`: the users who may open rooms (secure-domain).

use super::context::{said, Context};
use super::ops::ops_settings;

/// `meet-agent user ...`.
pub async fn user(ctx: &Context, action: &crate::users::UserAction) -> anyhow::Result<u8> {
    let Some(settings) = ops_settings(ctx).await else {
        return Ok(1);
    };
    let domain = settings.domain.as_deref();
    Ok(said(crate::users::run(
        &ctx.paths,
        domain,
        settings.auth,
        action,
    )))
}
