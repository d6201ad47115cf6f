//! The jitsi-meet web app's `config.js` for this site: where the XMPP server is (BOSH and
//! websocket behind nginx), and the audio and video quality settings of `[jitsi.quality]`,
//! the lobby, pre-join and end-to-end-encryption switches. The object is written as JSON (a
//! JavaScript object literal), so every value is escaped correctly; the operator's
//! additions file is appended as it is.

use super::{AuthMode, JitsiSettings};
use serde_json::{json, Map, Value};

/// The operator's additions (JavaScript, e.g. `config.startWithAudioMuted = true;`).
pub const LOCAL: &str = "/etc/meet-agent/config.local.js";

/// Where jitsi-meet's nginx site expects the site's `config.js`.
pub fn path(domain: &str) -> String {
    format!("/etc/jitsi/meet/{domain}-config.js")
}

/// Renders `config.js`; `local` is the operator's additions, if any.
pub fn render(domain: &str, j: &JitsiSettings, local: Option<&str>) -> String {
    let q = &j.quality;
    let height = q.max_resolution;
    // 16:9 frames; the lower bounds keep a small maximum consistent.
    let width = height * 16 / 9;
    let mut hosts = Map::new();
    hosts.insert("domain".into(), domain.into());
    hosts.insert("muc".into(), format!("conference.{domain}").into());
    if j.auth == AuthMode::SecureDomain {
        hosts.insert("anonymousdomain".into(), format!("guest.{domain}").into());
    }
    let mut audio = Map::new();
    audio.insert("stereo".into(), q.stereo.into());
    if let Some(bitrate) = q.opus_max_average_bitrate {
        audio.insert("opusMaxAverageBitrate".into(), bitrate.into());
    }
    let processing_off = !q.audio_processing;
    let config = json!({
        "hosts": Value::Object(hosts),
        "bosh": format!("https://{domain}/http-bind"),
        "websocket": format!("wss://{domain}/xmpp-websocket"),
        "resolution": height,
        "constraints": {
            "video": {
                "height": { "ideal": height, "max": height, "min": height.min(180) },
                "width": { "ideal": width, "max": width, "min": width.min(320) }
            }
        },
        "disableSimulcast": !q.simulcast,
        "videoQuality": { "codecPreferenceOrder": q.codec_preference },
        "audioQuality": Value::Object(audio),
        "disableAP": processing_off,
        "disableAEC": processing_off,
        "disableNS": processing_off,
        "disableAGC": processing_off,
        "disableHPF": processing_off,
        "prejoinConfig": { "enabled": j.prejoin },
        "hideLobbyButton": !j.lobby,
        "testing": { "disableE2EE": !j.e2ee }
    });
    // A `json!` value always serializes.
    let body = serde_json::to_string_pretty(&config).unwrap_or_default();
    let mut out = format!(
        "// Managed by meet-agent and rewritten at every boot from its configuration ([jitsi],\n\
         // [jitsi.quality]); put additions in {LOCAL}, which is appended below.\n\
         var config = {body};\n"
    );
    if let Some(local) = local {
        out.push_str(&format!("\n// From {LOCAL}:\n{local}\n"));
    }
    out
}
