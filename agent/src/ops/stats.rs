//! Whether meetings are running, from the stack's own statistics on loopback: the
//! videobridge's `/colibri/stats` (`conferences`, `participants`/`endpoints`) and jicofo's
//! `/stats` (`conferences`, `participants`). A service that does not answer counts as
//! having no meeting: without it no meeting can run on this server either.

use crate::jitsi::jicofo_api::{self, Jicofo};
use crate::jitsi::videobridge_api::{self, Bridge, BridgeError};
use serde::Serialize;
use std::time::Duration;

/// What the stack reports.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Activity {
    /// Conferences running (the larger of the two services' counts).
    pub conferences: u64,
    /// Participants in them.
    pub participants: u64,
    /// Which services answered, e.g. `["videobridge", "jicofo"]`.
    pub answered: Vec<String>,
    /// Services that did not answer, with why.
    pub silent: Vec<String>,
}

impl Activity {
    /// Whether no meeting is running.
    pub fn idle(&self) -> bool {
        self.conferences == 0 && self.participants == 0
    }

    /// "2 conferences, 7 participants (videobridge, jicofo)".
    pub fn summary(&self) -> String {
        let from = if self.answered.is_empty() {
            "neither the videobridge nor jicofo answers".to_string()
        } else {
            format!("from {}", self.answered.join(" and "))
        };
        format!(
            "{} conferences, {} participants ({from})",
            self.conferences, self.participants
        )
    }
}

/// Where to read from.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// The videobridge's `/colibri/stats` URL.
    pub videobridge: String,
    /// jicofo's `/stats` URL.
    pub jicofo: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Self {
            videobridge: videobridge_api::local_stats_url(),
            jicofo: jicofo_api::local_stats_url(),
        }
    }
}

/// Reads both services (each bounded to a few seconds).
pub async fn read(endpoints: &Endpoints) -> Activity {
    let mut activity = Activity::default();
    let timeout = Duration::from_secs(3);
    let videobridge = async {
        let bridge =
            Bridge::at_stats_url(&endpoints.videobridge, timeout).map_err(|e| e.to_string())?;
        bridge.stats_json().await.map_err(|e| match e {
            BridgeError::NotRunning(..) => "not running".to_string(),
            other => other.to_string(),
        })
    };
    let jicofo = async {
        Jicofo::at_stats_url(&endpoints.jicofo, timeout)?
            .stats()
            .await
            .map_err(|e| match e {
                jicofo_api::StatsError::NotRunning(_) => "not running".to_string(),
                other => other.to_string(),
            })
    };
    let (videobridge, jicofo) = (videobridge.await, jicofo.await);
    for (name, answer, participants_keys) in [
        (
            "videobridge",
            videobridge,
            &["participants", "endpoints"][..],
        ),
        ("jicofo", jicofo, &["participants"][..]),
    ] {
        match answer {
            Ok(json) => {
                let number = |key: &str| json.get(key).and_then(number_of);
                activity.conferences = activity.conferences.max(number("conferences").unwrap_or(0));
                let participants = participants_keys
                    .iter()
                    .find_map(|k| number(k))
                    .unwrap_or(0);
                activity.participants = activity.participants.max(participants);
                activity.answered.push(name.into());
            }
            Err(why) => activity.silent.push(format!("{name}: {why}")),
        }
    }
    activity
}

/// A count as either service writes it (a number, or a number in a string in older
/// videobridge versions).
fn number_of(v: &serde_json::Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// Asks the videobridge whose statistics are at `stats_url` to shut down gracefully
/// ([`Bridge::graceful_shutdown`]): it takes no new conferences and ends when the running
/// ones have.
pub async fn bridge_graceful_shutdown(stats_url: &str) -> Result<(), String> {
    Bridge::at_stats_url(stats_url, Duration::from_secs(5))
        .map_err(|e| e.to_string())?
        .graceful_shutdown()
        .await
        .map_err(|e| e.to_string())
}
