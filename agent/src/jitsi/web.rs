//! The jitsi-meet web app's `config.js` for this site: where the XMPP server is (BOSH and
//! websocket behind nginx), the bridge channel over SCTP, and the audio and video quality
//! settings of `[jitsi.quality]`, the lobby, pre-join and end-to-end-encryption switches.
//! The object is written as JSON (a JavaScript object literal), so every value is escaped
//! correctly; the operator's additions file is appended as it is.
//!
//! Keys follow what the current web app reads (checked 2026-12 against
//! jitsi/lib-jitsi-meet 01daa07c3f8c, 2026-08-20: `JitsiConference.ts` for
//! `bridgeChannel.preferSctp`, `p2p.enabled` and the codec orders, `modules/xmpp/xmpp.ts`
//! for `p2p.stunServers`, `modules/RTC/RTCUtils.js` for the
//! audio processing switches, `modules/e2ee/E2EEncryption.js` for `e2ee.disabled`; and
//! jitsi/jitsi-meet `config.js` and `react/features/base/config/configType.ts` for
//! `securityUi.hideLobbyButton`), laid out as jitsi/docker-jitsi-meet
//! `web/rootfs/defaults/system-config.js` and `settings-config.js` (afb8c24df670,
//! 2026-08-18) write them. Not written, because nothing reads them any more:
//! `disableHPF` (lib-jitsi-meet has no high-pass filter switch), the deprecated top-level
//! `hideLobbyButton` and `testing.disableE2EE`.

use super::{AuthMode, JitsiSettings};
use serde_json::{json, Map, Value};

/// The operator's additions (JavaScript, e.g. `config.startWithAudioMuted = true;`).
pub const LOCAL: &str = "/etc/meet-agent/config.local.js";

/// Where jitsi-meet's nginx site expects the site's `config.js`.
pub fn path(domain: &str) -> String {
    format!("/etc/jitsi/meet/{domain}-config.js")
}

/// A stream key as YouTube gives it, or a whole `rtmp://`/`rtmps://` URL: what the live
/// streaming dialog accepts (the web app's default takes YouTube keys only; jibri then
/// checks a URL against `recording.rtmp_allow`).
const STREAM_INPUT: &str = "^(?:[a-zA-Z0-9]{4}(?:-[a-zA-Z0-9]{4}){3,4}|rtmps?://\\S+)$";

/// What `config.js` is made from.
pub struct Inputs<'a> {
    /// The site's domain.
    pub domain: &'a str,
    /// `[jitsi]`.
    pub jitsi: &'a JitsiSettings,
    /// `[recording]`, when recorders serve this site.
    pub recording: Option<&'a crate::recording::RecordingSettings>,
    /// The site serves dial-in (its numbers and PIN service, jitsi/dial_in.rs).
    pub dial_in: bool,
    /// The operator's additions, if any.
    pub local: Option<&'a str>,
}

/// Renders `config.js`.
pub fn render(i: &Inputs<'_>) -> String {
    let (domain, j, recording, local) = (i.domain, i.jitsi, i.recording, i.local);
    let q = &j.quality;
    let height = q.max_resolution;
    // 16:9 frames; the lower bounds keep a small maximum consistent.
    let width = height * 16 / 9;
    let names = crate::plan::xmpp::XmppNames::new(domain);
    let mut hosts = Map::new();
    hosts.insert("domain".into(), domain.into());
    hosts.insert("muc".into(), names.conference.clone().into());
    if j.auth == AuthMode::SecureDomain {
        hosts.insert("anonymousdomain".into(), names.guest.clone().into());
    }
    let mut audio = Map::new();
    audio.insert("stereo".into(), q.stereo.into());
    if let Some(bitrate) = q.opus_max_average_bitrate {
        audio.insert("opusMaxAverageBitrate".into(), bitrate.into());
    }
    let processing_off = !q.audio_processing;
    let mut config = json!({
        "hosts": Value::Object(hosts),
        "bosh": format!("https://{domain}/http-bind"),
        "websocket": format!("wss://{domain}/xmpp-websocket"),
        // The bridge offers no colibri websocket any more: SCTP is the only channel.
        "bridgeChannel": { "preferSctp": true },
        "resolution": height,
        "constraints": {
            "video": {
                "height": { "ideal": height, "max": height, "min": height.min(180) },
                "width": { "ideal": width, "max": width, "min": width.min(320) }
            }
        },
        "disableSimulcast": !q.simulcast,
        // Through the bridge and in two-person (peer-to-peer) calls alike.
        "videoQuality": { "codecPreferenceOrder": q.codec_preference },
        // lib-jitsi-meet uses peer-to-peer only when `p2p.enabled` is set (upstream's
        // config.js sets it), and asks Jitsi's public STUN server unless told another:
        // this server's coturn answers STUN on its plain port.
        "p2p": {
            "enabled": true,
            "stunServers": [ { "urls": format!("stun:{domain}:{}", j.turn.port) } ],
            "codecPreferenceOrder": q.codec_preference
        },
        "audioQuality": Value::Object(audio),
        // lib-jitsi-meet reads all four (RTCUtils.js): echo cancellation, noise suppression
        // and gain control are each off when their own switch or disableAP is set.
        "disableAP": processing_off,
        "disableAEC": processing_off,
        "disableNS": processing_off,
        "disableAGC": processing_off,
        "prejoinConfig": { "enabled": j.prejoin },
        "securityUi": { "hideLobbyButton": !j.lobby },
        "e2ee": { "disabled": !j.e2ee },
        // settings-config.js 403d6188 (2026-06-25): ENABLE_VIRTUAL_BACKGROUND_V2 defaults true.
        "virtualBackground": { "enableV2": true }
    });
    if let (Some(rec), Value::Object(map)) = (recording, &mut config) {
        // jitsi-meet's config.js (609eab5f, 2026-01-07) and docker-jitsi-meet's
        // settings-config.js (ENABLE_RECORDING): the recorders' domain is hidden, file
        // recording is jibri's (not Dropbox, no sharing), live streaming when a target is
        // allowed. Who may start either: moderators, or the token's features (the server's
        // mod_jitsi_permissions and jicofo decide; docs/recording.md).
        map.insert("hiddenDomain".into(), names.recorder.clone().into());
        map.insert(
            "recordingService".into(),
            json!({ "enabled": true, "sharingEnabled": false }),
        );
        map.insert(
            "liveStreaming".into(),
            json!({ "enabled": rec.streaming(), "validatorRegExpString": STREAM_INPUT }),
        );
    }
    if let (true, Value::Object(map)) = (i.dial_in, &mut config) {
        // docker-jitsi-meet's settings-config.js (2e6b31d8, 2026-08-20) sets these to
        // DIALIN_NUMBERS_URL and CONFCODE_URL; here they are this site's own (dial_in.rs).
        map.insert(
            "dialInNumbersUrl".into(),
            format!("https://{domain}{}", super::dial_in::NUMBERS_URL_PATH).into(),
        );
        map.insert(
            "dialInConfCodeUrl".into(),
            format!("https://{domain}{}", super::dial_in::MAPPER_URL_PATH).into(),
        );
    }
    // A `json!` value always serializes.
    let body = serde_json::to_string_pretty(&config).unwrap_or_default();
    let mut out = format!(
        "// Managed by meet-agent and rewritten at every boot from its configuration ([jitsi],\n\
         // [jitsi.quality]); put additions in {LOCAL}, which is appended below.\n\
         // Keys as jitsi/docker-jitsi-meet web/rootfs/defaults/system-config.js and\n\
         // settings-config.js (afb8c24df670, 2026-08-18) write them.\n\
         var config = {body};\n"
    );
    if let Some(local) = local {
        out.push_str(&format!("\n// From {LOCAL}:\n{local}\n"));
    }
    out
}
