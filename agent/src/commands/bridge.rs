//! `bridge token`: the join token of a deployment.

use super::context::{say, Context};
use crate::cli::BridgeAction;
use std::io::Write;

/// `meet-agent bridge token [--new --domain D --key-out F | --recorder | --sip] [--host H]`.
pub async fn bridge(ctx: &Context, action: BridgeAction) -> anyhow::Result<u8> {
    let BridgeAction::Token {
        new,
        domain,
        host,
        key_out,
        recorder,
        sip,
    } = action;
    let made = if new {
        match (domain.as_deref(), key_out.as_deref()) {
            (Some(domain), Some(key_out)) => {
                super::bridge_token::new_token(domain, host.as_deref(), key_out)
            }
            _ => Err(anyhow::anyhow!("--new needs --domain and --key-out")),
        }
    } else {
        let Some(effective) = ctx.effective().await else {
            return Ok(1);
        };
        let settings = &effective.settings;
        let domain = settings.domain.as_deref();
        if sip && !settings.sip.offered() {
            say("this node offers no phones: set the SIP account in [sip] (docs/sip.md) and run `meet-agent run`, then make the SIP gateways' token".to_string());
            return Ok(1);
        }
        let kind = if recorder {
            super::bridge_token::Kind::Recorder
        } else if sip {
            super::bridge_token::Kind::Sip
        } else {
            super::bridge_token::Kind::Videobridge
        };
        super::bridge_token::node_token(&ctx.paths, &settings.roles, domain, host.as_deref(), kind)
    };
    match made {
        Ok(token) => {
            writeln!(std::io::stdout().lock(), "{token}")?;
            Ok(0)
        }
        Err(e) => {
            say(format!("{e:#}"));
            Ok(1)
        }
    }
}
