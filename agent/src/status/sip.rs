//! The phones part of the report: on a machine running jigasi, whether its SIP account is
//! registered (and, if not, the registrar's last answer from jigasi's log) and its calls;
//! on a node whose jicofo watches the SIP gateways' brewery, how many it sees.
//!
//! Decided from the rendered files, as the recorder part is: jigasi's properties file means
//! jigasi runs here, a `jigasi` block in jicofo.conf means jicofo watches for gateways.

use super::report::{DialInView, GatewayView, GatewaysSeen, Reach, SipView};
use crate::jitsi::{dial_in, jicofo, jigasi, jigasi_api, prosody};
use crate::paths::Paths;
use std::time::Duration;

/// The phones part, or `None` where neither jigasi runs nor jicofo watches for it.
pub async fn collect(paths: &Paths, reach: Reach) -> Option<SipView> {
    let properties = paths.join(jigasi::PROPERTIES);
    let watched = std::fs::read_to_string(paths.join(jicofo::CONF))
        .is_ok_and(|text| jicofo::watches_sip_gateways(&text));
    let numbers = std::fs::read_to_string(paths.join(dial_in::NUMBERS))
        .ok()
        .and_then(|text| serde_json::from_str::<Vec<serde_json::Value>>(&text).ok());
    if !properties.exists() && !watched && numbers.is_none() {
        return None;
    }
    let timeout = Duration::from_secs(2);
    // This machine's prosody on loopback: a prosody started a moment ago answers its first
    // HTTP request slowly on a small or emulated machine (over 2 s in a boot test under
    // TCG, right after the boot), which is not a fault; one that hangs still fails.
    const PIN_SERVICE_TIMEOUT: Duration = Duration::from_secs(6);
    let gateway = async {
        if !properties.exists() {
            return None;
        }
        let server = std::fs::read_to_string(&properties)
            .ok()
            .and_then(|text| jigasi::server_in(&text).map(|v| crate::printable::printable(v, 253)));
        let answer = jigasi_api::gateway(timeout).await;
        let registrar_said = match &answer {
            Ok(g) if g.registered => None,
            // The log is read only for the full report: it is jigasi's, of any size.
            _ if reach == Reach::Full => {
                jigasi_api::registrar_refusal_in(&paths.join(jigasi_api::LOG))
            }
            _ => None,
        };
        Some(GatewayView {
            server,
            error: answer.as_ref().err().cloned(),
            jigasi: answer.ok(),
            registrar_said,
        })
    };
    let seen = async {
        if !watched {
            return None;
        }
        let api =
            crate::jitsi::jicofo_api::Jicofo::new(&crate::jitsi::jicofo_api::local_base(), timeout)
                .ok()?;
        let body = api.stats().await.ok()?;
        Some(
            serde_json::from_value::<GatewaysSeen>(body["jigasi_detector"].clone())
                .unwrap_or_default(),
        )
    };
    let dial_in = async {
        let numbers = numbers?.len();
        let host = std::fs::read_to_string(paths.join(prosody::PATH))
            .ok()
            .and_then(|text| dial_in::mapper_host_in(&text));
        let pin_service_error = match host {
            Some(host) => dial_in::pin_service(&host, PIN_SERVICE_TIMEOUT).await.err(),
            None => Some(format!(
                "{} loads no dial-in PIN service although {} exists; run `meet-agent run`",
                prosody::PATH,
                dial_in::NUMBERS
            )),
        };
        Some(DialInView {
            numbers,
            pin_service_error,
        })
    };
    let (gateway, seen, dial_in) = tokio::join!(gateway, seen, dial_in);
    Some(SipView {
        gateway,
        seen,
        dial_in,
    })
}

/// What is wrong with the phones, one sentence each.
pub fn reasons(view: &SipView) -> Vec<String> {
    let mut reasons = Vec::new();
    if let Some(g) = &view.gateway {
        let at = g.server.as_deref().unwrap_or("its SIP server");
        match (&g.jigasi, &g.error) {
            (_, Some(e)) => reasons.push(format!("sip: {e}")),
            (Some(j), None) if !j.registered => reasons.push(match &g.registrar_said {
                Some(said) => format!(
                    "sip: jigasi is not registered at {at}, which answered \"{said}\" (jigasi's log); check sip.username, sip.password and sip.domain"
                ),
                None => format!(
                    "sip: jigasi is not registered at {at} yet; see {} for the registrar's answer",
                    jigasi_api::LOG
                ),
            }),
            (Some(j), None) => {
                if let Some(why) = &j.unhealthy {
                    reasons.push(format!("sip: {why}"));
                }
            }
            (None, None) => {}
        }
    }
    if let Some(e) = view
        .dial_in
        .as_ref()
        .and_then(|d| d.pin_service_error.as_ref())
    {
        reasons.push(format!("sip: {e}"));
    }
    if let Some(seen) = &view.seen {
        if seen.sip_count == 0 {
            reasons.push(
                "sip: jicofo sees no SIP gateway in JigasiBrewery, so no phone can join a meeting (see `systemctl status jigasi`)"
                    .into(),
            );
        }
    }
    reasons
}

/// The lines `meet-agent status` shows.
pub fn lines(view: &SipView) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(g) = &view.gateway {
        let at = g.server.as_deref().unwrap_or("its SIP server");
        out.push(match (&g.jigasi, &g.error) {
            (Some(j), _) if j.registered => format!(
                "sip          jigasi registered at {at}; {} call(s), {} phone participant(s)",
                j.calls.map_or("?".into(), |c| c.to_string()),
                j.participants.map_or("?".into(), |c| c.to_string())
            ),
            (Some(_), _) => format!(
                "sip          jigasi not registered at {at}{}",
                g.registrar_said
                    .as_deref()
                    .map(|s| format!(": \"{s}\""))
                    .unwrap_or_default()
            ),
            (None, Some(e)) => format!("sip          {e}"),
            (None, None) => "sip          jigasi: no answer".into(),
        });
    }
    if let Some(seen) = &view.seen {
        out.push(format!(
            "gateways     jicofo sees {} SIP gateway(s){}",
            seen.sip_count,
            if seen.sip_in_graceful_shutdown_count > 0 {
                format!(", {} shutting down", seen.sip_in_graceful_shutdown_count)
            } else {
                String::new()
            }
        ));
    }
    if let Some(d) = &view.dial_in {
        out.push(format!(
            "dial-in      {} number(s) shown; PIN service {}",
            d.numbers,
            if d.pin_service_error.is_some() {
                "not answering"
            } else {
                "answering"
            }
        ));
    }
    out
}
