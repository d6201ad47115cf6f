//! The videobridge's private REST API on loopback (jitsi-videobridge's `rest.private`
//! interface, port 8080): `GET /colibri/stats` and `POST /colibri/shutdown`.
//!
//! Paths and body follow upstream jitsi/jitsi-videobridge `resources/graceful_shutdown.sh`
//! (it POSTs `{"graceful-shutdown": "true"}` with `Content-Type: application/json` to
//! `/colibri/shutdown` and polls `/colibri/stats` for `conferences`) and the `ShutdownJson`
//! class of the REST API (`rest/root/colibri/shutdown`), whose `graceful-shutdown` field is
//! a Jackson `Boolean`, so the JSON boolean `true` is read the same as the string.

use serde::Deserialize;
use std::time::Duration;

/// The bridge's REST API as the image configures it (loopback only).
pub const DEFAULT_BASE: &str = "http://127.0.0.1:8080";

/// The fields of `/colibri/stats` the scaling code reads; absent ones are zero/false.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Stats {
    /// Load between 0 and about 1 (can exceed 1 when overloaded): the scaling signal.
    pub stress_level: f64,
    /// Conferences on this bridge.
    pub conferences: u64,
    /// Participants on this bridge.
    pub participants: u64,
    /// How many brewery MUCs it has joined.
    pub mucs_joined: u64,
    /// How many XMPP (MUC) clients are connected.
    pub muc_clients_connected: u64,
    /// Whether it is in drain mode (no new conferences).
    pub drain: bool,
    /// Whether graceful shutdown is under way.
    pub graceful_shutdown: bool,
}

/// Why the bridge's answer is missing, in words for status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BridgeError {
    /// Nothing answered (the bridge is not running, or still starting).
    #[error("the videobridge at {0} does not answer ({1})")]
    Unreachable(String, String),
    /// It answered with an error status or an unreadable body.
    #[error("the videobridge at {0} answered badly ({1})")]
    Answer(String, String),
}

/// A client of the bridge's REST API.
pub struct Bridge {
    base: String,
    http: reqwest::Client,
}

impl Bridge {
    /// A client for the API at `base` (e.g. [`DEFAULT_BASE`]); requests time out after
    /// `timeout`.
    pub fn new(base: &str, timeout: Duration) -> Result<Self, BridgeError> {
        let base = base.trim_end_matches('/').to_string();
        let http = crate::http_body::builder()
            .timeout(timeout)
            .no_proxy()
            .build()
            .map_err(|e| BridgeError::Answer(base.clone(), crate::aws::one_line(&e)))?;
        Ok(Self { base, http })
    }

    /// `GET /colibri/stats`.
    pub async fn stats(&self) -> Result<Stats, BridgeError> {
        let url = format!("{}/colibri/stats", self.base);
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| BridgeError::Unreachable(url.clone(), crate::aws::one_line(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(BridgeError::Answer(url, format!("status {status}")));
        }
        let body = crate::http_body::read_capped(response, crate::ops::stats::STATS_LIMIT)
            .await
            .map_err(|e| match e {
                crate::http_body::BodyError::Transport(e) => {
                    BridgeError::Unreachable(url.clone(), crate::aws::one_line(&e))
                }
                too_large => BridgeError::Answer(url.clone(), too_large.to_string()),
            })?;
        serde_json::from_slice(&body)
            .map_err(|e| BridgeError::Answer(url, format!("not the stats JSON: {e}")))
    }

    /// `POST /colibri/shutdown` with `{"graceful-shutdown": true}`: the bridge takes no new
    /// conferences and exits when its last one ends.
    pub async fn graceful_shutdown(&self) -> Result<(), BridgeError> {
        let url = format!("{}/colibri/shutdown", self.base);
        let response = self
            .http
            .post(&url)
            .json(&serde_json::json!({ "graceful-shutdown": true }))
            .send()
            .await
            .map_err(|e| BridgeError::Unreachable(url.clone(), crate::aws::one_line(&e)))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(BridgeError::Answer(url, format!("status {status}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Stats;

    #[test]
    fn stats_read_the_scaling_fields_and_ignore_the_rest() {
        let s: Stats = serde_json::from_str(
            r#"{"stress_level":0.42,"conferences":3,"participants":11,"mucs_joined":1,"muc_clients_connected":1,"drain":false,"graceful_shutdown":true,"threads":63,"version":"2.3.160"}"#,
        )
        .unwrap();
        assert_eq!(
            (s.stress_level, s.conferences, s.participants),
            (0.42, 3, 11)
        );
        assert!(s.graceful_shutdown && !s.drain);
        let empty: Stats = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, Stats::default());
    }
}
