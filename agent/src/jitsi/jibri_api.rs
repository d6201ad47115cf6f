//! The agent's client of jibri's HTTP API on loopback (`jibri.api.http`, port 2222 on
//! 127.0.0.1 by default, which jibri.conf leaves alone): `GET /jibri/api/v1.0/health`,
//! for `meet-agent status` on a recorder.
//!
//! The answer's shape follows jitsi/jibri at 62369d55eaf5 (2026-08-05): doc/http_api.md,
//! `api/http/HttpApi.kt` and `health/JibriHealth.kt`:
//! `{"status": {"busyStatus": "IDLE|BUSY|EXPIRED", "health": {"healthStatus":
//! "HEALTHY|UNHEALTHY", "details": {...}}}}`.

use std::time::Duration;

/// jibri's external API port (reference.conf's `external-api-port`).
pub const PORT: u16 = 2222;
/// jibri's internal API port (reference.conf's `internal-api-port`).
pub const INTERNAL_PORT: u16 = 3333;
/// The health path.
pub const HEALTH_PATH: &str = "/jibri/api/v1.0/health";
/// The most of the answer read.
const LIMIT: usize = 64 << 10;

/// What jibri says of itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Health {
    /// `idle`, `busy` or `expired` (lower case).
    pub busy: String,
    /// Whether jibri calls itself healthy.
    pub healthy: bool,
}

/// jibri's two HTTP APIs: the external one (health, stopService) and the internal one
/// (gracefulShutdown).
#[derive(Debug, Clone)]
pub struct Jibri {
    external: String,
    internal: String,
    client: reqwest::Client,
}

impl Jibri {
    /// jibri on this machine, at its default ports on loopback.
    pub fn local(timeout: Duration) -> Result<Self, String> {
        Self::at(
            &format!("http://127.0.0.1:{PORT}"),
            &format!("http://127.0.0.1:{INTERNAL_PORT}"),
            timeout,
        )
    }

    /// jibri with its external API at `external` and its internal one at `internal`.
    pub fn at(external: &str, internal: &str, timeout: Duration) -> Result<Self, String> {
        Ok(Self {
            external: external.trim_end_matches('/').to_string(),
            internal: internal.trim_end_matches('/').to_string(),
            client: crate::http_body::local_client(timeout).map_err(|e| e.to_string())?,
        })
    }

    /// What jibri says of itself; the error is one sentence naming the URL.
    pub async fn health(&self) -> Result<Health, String> {
        let url = format!("{}{HEALTH_PATH}", self.external);
        let resp = self.client.get(&url).send().await.map_err(|e| {
            format!(
                "jibri at {url} does not answer ({}); see `systemctl status jibri`",
                crate::http_body::one_line(&e)
            )
        })?;
        if !resp.status().is_success() {
            return Err(format!("jibri at {url} answered {}", resp.status()));
        }
        let body = crate::http_body::read_capped(resp, LIMIT)
            .await
            .map_err(|e| format!("jibri at {url} answered badly ({e})"))?;
        parse(&body).map_err(|e| format!("jibri at {url} answered badly ({e})"))
    }

    /// Stops the recording in progress now (`POST /jibri/api/v1.0/stopService`,
    /// HttpApi.kt): jibri finalizes what it has and stays up.
    pub async fn stop_service(&self) -> Result<(), String> {
        self.post(&format!("{}/jibri/api/v1.0/stopService", self.external))
            .await
    }

    /// Asks jibri to exit once idle (`POST /jibri/api/internal/v1.0/gracefulShutdown`,
    /// InternalHttpApi.kt): it leaves the brewery, so jicofo gives it nothing more, and
    /// exits with 255, which jibri.service does not restart.
    pub async fn graceful_shutdown(&self) -> Result<(), String> {
        self.post(&format!(
            "{}/jibri/api/internal/v1.0/gracefulShutdown",
            self.internal
        ))
        .await
    }

    async fn post(&self, url: &str) -> Result<(), String> {
        let resp = self.client.post(url).send().await.map_err(|e| {
            format!(
                "jibri at {url} does not answer ({})",
                crate::http_body::one_line(&e)
            )
        })?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("jibri at {url} answered {}", resp.status()))
        }
    }
}

/// jibri's health on this machine.
pub async fn health(timeout: Duration) -> Result<Health, String> {
    Jibri::local(timeout)?.health().await
}

/// The health answer's two fields.
fn parse(body: &[u8]) -> Result<Health, String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let status = &v["status"];
    let busy = status["busyStatus"]
        .as_str()
        .ok_or("no status.busyStatus")?
        .to_ascii_lowercase();
    let health = status["health"]["healthStatus"]
        .as_str()
        .ok_or("no status.health.healthStatus")?;
    Ok(Health {
        busy: crate::printable::printable(&busy, 20),
        healthy: health == "HEALTHY",
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_answer_of_doc_http_api_md() {
        let busy = br#"{"status":{"busyStatus":"BUSY","health":{"healthStatus":"HEALTHY","details":{}}},"environmentContext":{"name":"meet-host"}}"#;
        let got = super::parse(busy).unwrap();
        assert_eq!((got.busy.as_str(), got.healthy), ("busy", true));
        let sick = br#"{"status":{"busyStatus":"IDLE","health":{"healthStatus":"UNHEALTHY"}}}"#;
        assert!(!super::parse(sick).unwrap().healthy);
        assert!(super::parse(br#"{"status":{}}"#).is_err());
    }
}
