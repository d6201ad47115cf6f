//! The agent's client of jigasi's HTTP API on loopback (`org.jitsi.jigasi.rest`, port
//! 8788 on 127.0.0.1 in jigasi's reference.conf, which the rendered files leave alone):
//! whether its SIP account is registered and how many calls it carries, for `meet-agent
//! status`; and the registrar's last refusal from jigasi's log.
//!
//! Follows jitsi/jigasi at 6fbf4f2769bd (2026-06-17): `rest/HandlerImpl.java`
//! (`/about/health` answers 503 while any gateway is not ready, and SipGateway is ready
//! only when its account is REGISTERED; otherwise it runs its health check: 200, or 500
//! with the reason) and `stats/Statistics.java` (`/about/stats`: `conferences`,
//! `participants`, ...). The refusal's wording is jitsi-desktop's SipRegistrarConnection
//! ("Server returned error:" and the reason phrase), read in its source, not seen in a
//! running jigasi.

use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

/// jigasi's REST port on loopback.
pub const PORT: u16 = 8788;
/// Where jigasi.service's output goes (Debian's unit, `LOGFILE`).
pub const LOG: &str = "/var/log/jitsi/jigasi.log";
/// How much of the log's end is read for the registrar's last answer.
const LOG_TAIL: u64 = 256 << 10;
/// The most of an answer read.
const LIMIT: usize = 64 << 10;

/// What jigasi says of its SIP account and its calls.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Gateway {
    /// The SIP account is registered (`/about/health` is not 503).
    pub registered: bool,
    /// jigasi's own health verdict when registered but unwell (a 500's body).
    pub unhealthy: Option<String>,
    /// Meetings with a phone in them (`/about/stats` `conferences`), if it answered.
    pub calls: Option<u64>,
    /// Phone participants (`participants`), if it answered.
    pub participants: Option<u64>,
}

/// jigasi's health and counters at `base` (`http://127.0.0.1:8788` on this machine); the
/// error is one sentence naming the URL.
pub async fn gateway_at(base: &str, timeout: Duration) -> Result<Gateway, String> {
    let client = crate::http_body::local_client(timeout).map_err(|e| e.to_string())?;
    let base = base.trim_end_matches('/');
    let url = format!("{base}/about/health");
    let resp = client.get(&url).send().await.map_err(|e| {
        format!(
            "jigasi at {url} does not answer ({}); see `systemctl status jigasi`",
            crate::http_body::one_line(&e)
        )
    })?;
    let status = resp.status().as_u16();
    let body = crate::http_body::read_capped(resp, LIMIT)
        .await
        .unwrap_or_default();
    let (registered, unhealthy) = match status {
        200..=299 => (true, None),
        503 => (false, None),
        code => (
            true,
            Some(format!(
                "jigasi at {url} answered {code}: {}",
                crate::printable::printable(&String::from_utf8_lossy(&body), 200)
            )),
        ),
    };
    let stats: Option<serde_json::Value> =
        match client.get(format!("{base}/about/stats")).send().await {
            Ok(r) if r.status().is_success() => crate::http_body::read_capped(r, LIMIT)
                .await
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok()),
            _ => None,
        };
    let count = |key: &str| stats.as_ref().and_then(|s| s[key].as_u64());
    Ok(Gateway {
        registered,
        unhealthy,
        calls: count("conferences"),
        participants: count("participants"),
    })
}

/// jigasi on this machine.
pub async fn gateway(timeout: Duration) -> Result<Gateway, String> {
    gateway_at(&format!("http://127.0.0.1:{PORT}"), timeout).await
}

/// The registrar's last refusal in the end of jigasi's log `text`: the reason phrase after
/// "Server returned error:", if any.
pub fn registrar_refusal(text: &str) -> Option<String> {
    let marker = "Server returned error:";
    text.lines().rev().find_map(|line| {
        let (_, reason) = line.split_once(marker)?;
        let reason = reason.trim();
        (!reason.is_empty()).then(|| crate::printable::printable(reason, 160))
    })
}

/// [`registrar_refusal`] from the end of the log at `path` (nothing when unreadable).
pub fn registrar_refusal_in(path: &std::path::Path) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    // The log is jigasi's; a link there is not followed.
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let start = meta.len().saturating_sub(LOG_TAIL);
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut tail = Vec::new();
    file.take(LOG_TAIL).read_to_end(&mut tail).ok()?;
    registrar_refusal(&String::from_utf8_lossy(&tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_refusal_in_the_log_is_the_one_shown() {
        let log = "INFO: registering\n\
                   WARNING: ... RegistrationState changed: Server returned error:Unauthorized\n\
                   INFO: retry\n\
                   WARNING: ... Server returned error: Forbidden \n\
                   INFO: later\n";
        assert_eq!(registrar_refusal(log).as_deref(), Some("Forbidden"));
        assert_eq!(registrar_refusal("INFO: registered\n"), None);
    }

    #[test]
    fn a_missing_log_or_a_fifo_in_its_place_is_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(registrar_refusal_in(&dir.path().join("none.log")), None);
        let fifo = dir.path().join("fifo.log");
        nix::unistd::mkfifo(
            &fifo,
            nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
        )
        .expect("mkfifo");
        assert_eq!(registrar_refusal_in(&fifo), None);
    }
}
