//! `status`: whether the server is healthy and why not.

use super::context::Context;
use crate::status::{self, Reach};

/// `meet-agent status [--json | --brief]`; the exit code is the health's.
pub async fn status(ctx: &Context, json: bool, brief: bool) -> anyhow::Result<u8> {
    // The login banner (`--brief`) must not hold a login up on another machine: it leaves
    // out the signaling probe and jicofo's per-bridge list.
    let reach = if brief { Reach::Local } else { Reach::Full };
    let mut bus = crate::apply::Bus::new();
    let report = status::collect_over(&ctx.paths, ctx.seen(), &mut bus, reach).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if brief {
        print!("{}", status::render_brief(&report));
    } else {
        print!("{}", status::render(&report));
    }
    Ok(report.health.exit_code())
}
