//! `scale`: a videobridge in an AWS Auto Scaling group (publishes its stress, drains).

use super::context::{said, Context};

/// `meet-agent scale`.
pub async fn scale(ctx: &Context) -> anyhow::Result<u8> {
    let Some(effective) = ctx.effective().await else {
        return Ok(1);
    };
    let settings = &effective.settings;
    let services = crate::scale::service::Services {
        aws_endpoint: effective.config.source.aws_endpoint.clone(),
        videobridge_stats_url: settings.schedule.videobridge_stats_url.clone(),
    };
    Ok(said(
        crate::scale::service::run(
            &ctx.paths,
            &settings.roles,
            &settings.ec2_endpoint,
            &services,
        )
        .await,
    ))
}
