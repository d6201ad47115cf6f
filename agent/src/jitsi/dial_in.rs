//! Dial-in for the web app, served by this server: the numbers callers dial
//! (`sip.dial_in_numbers`, a JSON file nginx serves) and the conference mapper that gives
//! each meeting its PIN and an IVR the meeting for a PIN (our prosody module
//! `mod_ryo_conference_mapper`, which the meet-agent package ships and nginx proxies to).
//!
//! Upstream points config.js's `dialInNumbersUrl` and `dialInConfCodeUrl` at Jitsi's hosted
//! service (jitsi/docker-jitsi-meet `web/rootfs/defaults/settings-config.js` at 2e6b31d8,
//! 2026-08-20: `CONFCODE_URL`, `DIALIN_NUMBERS_URL`); a self-hosted server needs its own.
//! The numbers file has the shape the web app reads today (jitsi/jitsi-meet
//! `react/features/invite/functions.ts` and `reducer.ts`: an array of `countryCode`,
//! `tollFree`, `formattedNumber`; the older `{numbers: {...}}` object logs a deprecation
//! warning), docs/upstream/jigasi.md section 4.

use crate::sip::DialInNumber;

/// Where the numbers file goes (beside the site's config.js, which nginx already reads).
pub const NUMBERS: &str = "/etc/jitsi/meet/ryo-jitsi-dial-in-numbers.json";
/// The URL path nginx serves the numbers at.
pub const NUMBERS_URL_PATH: &str = "/_api/dial-in-numbers";
/// The URL path nginx serves the conference mapper at (for the web app and IVRs).
pub const MAPPER_URL_PATH: &str = "/_api/conference-mapper";
/// The mapper's path on prosody's HTTP server (the module's `default_path`).
pub const MAPPER_PROSODY_PATH: &str = "/ryo-conference-mapper";
/// Where the meet-agent package installs its prosody modules.
pub const PLUGINS: &str = "/usr/share/meet-agent/prosody-plugins";
/// The mapper module's name, as `modules_enabled` lists it.
pub const MODULE: &str = "ryo_conference_mapper";
/// How many digits a PIN has (the module's `ryo_conference_mapper_digits`; meet.jit.si's).
pub const PIN_DIGITS: u32 = 10;

/// The numbers file: one entry per number, countries in configuration order (the web app
/// shows the first as the default), none toll-free (the configuration cannot say so).
pub fn render_numbers(numbers: &[DialInNumber]) -> String {
    let entries: Vec<serde_json::Value> = numbers
        .iter()
        .map(|n| {
            serde_json::json!({
                "countryCode": n.country,
                "tollFree": false,
                "formattedNumber": n.number,
            })
        })
        .collect();
    // A `Vec<Value>` always serializes.
    let mut text = serde_json::to_string_pretty(&entries).unwrap_or_default();
    text.push('\n');
    text
}

/// The auth host the PIN service runs on, from a rendered prosody file (for status): the
/// host of the conference MUC its `ryo_conference_mapper_muc` names; `None` when the file
/// loads no PIN service.
pub fn mapper_host_in(prosody: &str) -> Option<String> {
    let muc = prosody.lines().find_map(|l| {
        l.trim()
            .strip_prefix("ryo_conference_mapper_muc = \"")?
            .strip_suffix('"')
    })?;
    let domain = muc.strip_prefix("conference.")?;
    Some(crate::plan::xmpp::XmppNames::new(domain).auth)
}

/// Whether the PIN service answers on prosody's HTTP port at `base`
/// (`http://127.0.0.1:5280` on this machine) for `host`: asked nothing, it must refuse
/// with its own JSON message (a 404 means prosody runs without the module). The error is
/// one sentence naming what to check.
pub async fn pin_service_at(
    base: &str,
    host: &str,
    timeout: std::time::Duration,
) -> Result<(), String> {
    let client = crate::http_body::local_client(timeout).map_err(|e| e.to_string())?;
    let url = format!("{}{MAPPER_PROSODY_PATH}", base.trim_end_matches('/'));
    let resp = client
        .get(&url)
        .header(reqwest::header::HOST, host)
        .send()
        .await
        .map_err(|e| {
            format!(
                "the dial-in PIN service at {url} does not answer ({}); see `systemctl status prosody`",
                crate::http_body::one_line(&e)
            )
        })?;
    let status = resp.status().as_u16();
    let body = crate::http_body::read_capped(resp, 4096)
        .await
        .unwrap_or_default();
    let answered =
        serde_json::from_slice::<serde_json::Value>(&body).is_ok_and(|v| v["message"].is_string());
    if status == 400 && answered {
        Ok(())
    } else {
        Err(format!(
            "the dial-in PIN service at {url} answered {status} instead of its own refusal; check that {PLUGINS}/mod_{MODULE}.lua is installed (meet-agent's package) and prosody's log"
        ))
    }
}

/// The PIN service on this machine's prosody.
pub async fn pin_service(host: &str, timeout: std::time::Duration) -> Result<(), String> {
    pin_service_at(
        &format!("http://127.0.0.1:{}", crate::vocab::ports::PROSODY_HTTP),
        host,
        timeout,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_the_array_the_web_app_reads_in_order() {
        let text = render_numbers(&[
            DialInNumber {
                country: "US".into(),
                number: "+1 555 0100".into(),
            },
            DialInNumber {
                country: "DE".into(),
                number: "+49 30 \"1234567\"".into(),
            },
        ]);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            serde_json::json!([
                { "countryCode": "US", "tollFree": false, "formattedNumber": "+1 555 0100" },
                { "countryCode": "DE", "tollFree": false, "formattedNumber": "+49 30 \"1234567\"" },
            ])
        );
    }

    #[test]
    fn the_mapper_host_is_the_auth_host_of_the_muc_named() {
        let text = "VirtualHost \"auth.meet.example.test\"\n    ryo_conference_mapper_muc = \"conference.meet.example.test\"\n";
        assert_eq!(
            mapper_host_in(text).as_deref(),
            Some("auth.meet.example.test")
        );
        assert_eq!(mapper_host_in("VirtualHost \"meet.example.test\"\n"), None);
    }
}
