//! `scale`: a videobridge in an AWS Auto Scaling group (publishes its stress, drains).

use super::context::{said, Context};

/// `meet-agent scale`.
pub async fn scale(
    ctx: &Context,
    aws_endpoint: Option<String>,
    bridge_url: Option<String>,
) -> anyhow::Result<u8> {
    let Some(effective) = ctx.effective().await else {
        return Ok(1);
    };
    let settings = &effective.settings;
    let seams = crate::scale::service::Seams {
        aws: aws_endpoint.or_else(|| effective.config.source.aws_endpoint.clone()),
        bridge: bridge_url,
    };
    Ok(said(
        crate::scale::service::run(&ctx.paths, &settings.roles, &settings.ec2_endpoint, &seams)
            .await,
    ))
}
