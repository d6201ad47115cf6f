//! The agent's one client of the videobridge's private REST API on loopback
//! (jitsi-videobridge's `rest.private` interface, which [`super::videobridge`] renders on
//! port [`REST_PORT`], `vocab::ports::VIDEOBRIDGE_REST`): `GET /colibri/stats` and `POST /colibri/shutdown`. The scaling
//! code, the meeting-aware shutdown and `meet-agent status` all ask through it. It lives
//! beside the renderer that opens these endpoints, so the port, the path and the keys
//! that turn them on stay in one room.
//!
//! Paths and body follow upstream jitsi/jitsi-videobridge: the REST API's `ShutdownJson`
//! (`jvb/.../rest/root/colibri/shutdown/Shutdown.java`, as of a29d97d13) declares
//! `graceful-shutdown` a required Jackson `Boolean`, so the JSON boolean `true` is the
//! type it reads (`resources/graceful_shutdown.sh` sends the string `"true"`, which
//! Jackson coerces; we send the boolean). The script then polls `/colibri/stats` for
//! `conferences`.

use crate::vocab::ports::VIDEOBRIDGE_REST as REST_PORT;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `/colibri/stats` below the base.
pub const STATS_PATH: &str = "/colibri/stats";
/// `/colibri/shutdown` below the base.
pub const SHUTDOWN_PATH: &str = "/colibri/shutdown";

/// The bridge's REST API as the image configures it (loopback only).
pub fn local_base() -> String {
    format!("http://127.0.0.1:{REST_PORT}")
}

/// Its `/colibri/stats` URL (the default of `schedule.videobridge_stats_url`).
pub fn local_stats_url() -> String {
    format!("{}{STATS_PATH}", local_base())
}

/// The fields of `/colibri/stats` the agent reads (scaling, status); absent ones are
/// zero/false. `meet-agent status --json` shows them as `deployment.bridge`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
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
    /// Nothing listens (the bridge is not running, or still starting).
    #[error("the videobridge at {0} does not answer ({1})")]
    NotRunning(String, String),
    /// It did not answer in time, or the connection broke.
    #[error("the videobridge at {0} does not answer ({1})")]
    Unreachable(String, String),
    /// It answered with an error status or an unreadable body.
    #[error("the videobridge at {0} answered badly ({1})")]
    Answer(String, String),
}

/// The client of the bridge's REST API.
#[derive(Debug, Clone)]
pub struct Bridge {
    base: String,
    http: reqwest::Client,
}

impl Bridge {
    /// A client for the API at `base` (e.g. [`local_base`]); requests time out after
    /// `timeout`.
    pub fn new(base: &str, timeout: Duration) -> Result<Self, BridgeError> {
        let base = base.trim_end_matches('/').to_string();
        let http = crate::http_body::local_client(timeout)
            .map_err(|e| BridgeError::Answer(base.clone(), crate::aws::one_line(&e)))?;
        Ok(Self { base, http })
    }

    /// The bridge at [`local_base`].
    pub fn local(timeout: Duration) -> Result<Self, BridgeError> {
        Self::new(&local_base(), timeout)
    }

    /// The bridge whose `/colibri/stats` is at `stats_url` (the ops settings name that URL).
    pub fn at_stats_url(stats_url: &str, timeout: Duration) -> Result<Self, BridgeError> {
        let base = stats_url.trim_end_matches('/');
        Self::new(base.strip_suffix(STATS_PATH).unwrap_or(base), timeout)
    }

    fn unreachable(url: String, e: &reqwest::Error) -> BridgeError {
        if e.is_connect() {
            BridgeError::NotRunning(url, crate::aws::one_line(e))
        } else {
            BridgeError::Unreachable(url, crate::aws::one_line(e))
        }
    }

    /// `GET /colibri/stats` as the JSON it is (for readers of fields [`Stats`] leaves out).
    pub async fn stats_json(&self) -> Result<serde_json::Value, BridgeError> {
        let url = format!("{}{STATS_PATH}", self.base);
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| Self::unreachable(url.clone(), &e))?;
        let status = response.status();
        if !status.is_success() {
            // Redirects are not followed (the bridge's REST never sends one).
            return Err(BridgeError::Answer(url, format!("status {status}")));
        }
        let body = crate::http_body::read_capped(response, STATS_LIMIT)
            .await
            .map_err(|e| match e {
                crate::http_body::BodyError::Transport(e) => Self::unreachable(url.clone(), &e),
                too_large => BridgeError::Answer(url.clone(), too_large.to_string()),
            })?;
        serde_json::from_slice(&body)
            .map_err(|e| BridgeError::Answer(url, format!("not the stats JSON: {e}")))
    }

    /// `GET /colibri/stats`, the fields the agent reads.
    pub async fn stats(&self) -> Result<Stats, BridgeError> {
        let json = self.stats_json().await?;
        serde_json::from_value(json).map_err(|e| {
            BridgeError::Answer(
                format!("{}{STATS_PATH}", self.base),
                format!("not the stats JSON: {e}"),
            )
        })
    }

    /// `POST /colibri/shutdown` with `{"graceful-shutdown": true}`: the bridge takes no new
    /// conferences and exits when its last one ends (needs
    /// `videobridge.rest.shutdown.enabled`, which jvb.conf sets).
    pub async fn graceful_shutdown(&self) -> Result<(), BridgeError> {
        let url = format!("{}{SHUTDOWN_PATH}", self.base);
        let response = self
            .http
            .post(&url)
            .json(&serde_json::json!({ "graceful-shutdown": true }))
            .send()
            .await
            .map_err(|e| Self::unreachable(url.clone(), &e))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(BridgeError::Answer(url, format!("status {status}")))
        }
    }
}

/// The most read of a statistics answer: the bridge's and jicofo's `/stats` are a few KiB;
/// an endless answer is refused rather than held in memory.
pub const STATS_LIMIT: usize = 1 << 20;

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
