//! Whether meetings are running, from the stack's own statistics on loopback: the
//! videobridge's `/colibri/stats` (`conferences`, `participants`/`endpoints`) and jicofo's
//! `/stats` (`conferences`, `participants`). A service that does not answer counts as
//! having no meeting: without it no meeting can run on this server either.

use serde::Serialize;
use std::time::Duration;

/// The videobridge's statistics endpoint (private REST API, loopback).
pub const VIDEOBRIDGE_STATS: &str = "http://127.0.0.1:8080/colibri/stats";
/// jicofo's statistics endpoint (loopback).
pub const JICOFO_STATS: &str = "http://127.0.0.1:8888/stats";

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
            videobridge: VIDEOBRIDGE_STATS.into(),
            jicofo: JICOFO_STATS.into(),
        }
    }
}

/// Reads both services (each bounded to a few seconds).
pub async fn read(endpoints: &Endpoints) -> Activity {
    let mut activity = Activity::default();
    let Ok(client) = loopback_client(Duration::from_secs(3)) else {
        activity.silent.push("no HTTP client".into());
        return activity;
    };
    for (name, url, participants_keys) in [
        (
            "videobridge",
            &endpoints.videobridge,
            &["participants", "endpoints"][..],
        ),
        ("jicofo", &endpoints.jicofo, &["participants"][..]),
    ] {
        match fetch(&client, url).await {
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

/// A client for the stack's loopback APIs.
fn loopback_client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    // reqwest needs the process's rustls provider even for plain HTTP.
    crate::install_crypto_provider();
    crate::http_body::builder()
        .timeout(timeout)
        .no_proxy()
        .build()
}

/// A count as either service writes it (a number, or a number in a string in older
/// videobridge versions).
fn number_of(v: &serde_json::Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<serde_json::Value, String> {
    let response = client.get(url).send().await.map_err(|e| {
        if e.is_connect() {
            "not running".to_string()
        } else {
            format!("{e}")
        }
    })?;
    let status = response.status();
    if !status.is_success() {
        // Redirects are not followed (the stack's REST never sends one): this says so too.
        return Err(format!("answered {status}"));
    }
    let body = crate::http_body::read_capped(response, STATS_LIMIT)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    serde_json::from_slice(&body)
        .map_err(|e| format!("answered something that is not its statistics JSON ({e})"))
}

/// The most read of a statistics answer: both services' `/stats` are a few KiB; an
/// endless answer is refused rather than held in memory.
pub const STATS_LIMIT: usize = 1 << 20;

/// Asks the videobridge to shut down gracefully: it takes no new conferences and ends when
/// the running ones have (needs `videobridge.rest.shutdown.enabled`, which jvb.conf sets).
pub async fn bridge_graceful_shutdown(stats_url: &str) -> Result<(), String> {
    let url = stats_url.replace("/colibri/stats", "/colibri/shutdown");
    let client = loopback_client(Duration::from_secs(5)).map_err(|e| e.to_string())?;
    let response = client
        .post(&url)
        .json(&serde_json::json!({ "graceful-shutdown": "true" }))
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("{url} answered {}", response.status()))
    }
}
