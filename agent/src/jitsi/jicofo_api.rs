//! The agent's one client of jicofo's REST API on loopback (port [`REST_PORT`], which
//! [`super::jicofo`] renders): `/stats` for idle detection and the bridge counts,
//! `/debug` for each bridge's state and `/about/health` for jicofo's own verdict in
//! `meet-agent status`. It lives beside the renderer that turns these endpoints on, so the
//! port and the keys named in its errors stay in one room.

use super::jicofo::LOCAL;
use crate::vocab::ports::JICOFO_REST as REST_PORT;
use std::time::Duration;

/// jicofo's REST API as the image configures it (loopback only).
pub fn local_base() -> String {
    format!("http://127.0.0.1:{REST_PORT}")
}

/// Its `/stats` URL (the default of `schedule.jicofo_stats_url`).
pub fn local_stats_url() -> String {
    format!("{}/stats", local_base())
}

/// Why `/stats` has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatsError {
    /// Nothing listens at the URL: jicofo is not running (or still starting).
    #[error("jicofo at {0} does not answer (not running)")]
    NotRunning(String),
    /// Anything else, in one sentence naming the URL.
    #[error("{0}")]
    Other(String),
}

/// The client of jicofo's REST API.
pub struct Jicofo {
    base: String,
    http: reqwest::Client,
}

impl Jicofo {
    /// A client for the API at `base` (e.g. [`local_base`]); requests time out after
    /// `timeout`.
    pub fn new(base: &str, timeout: Duration) -> Result<Self, String> {
        let http = crate::http_body::local_client(timeout)
            .map_err(|e| format!("no HTTP client for jicofo ({})", crate::aws::one_line(&e)))?;
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            http,
        })
    }

    /// The client whose `/stats` is at `stats_url` (the ops settings name that URL).
    pub fn at_stats_url(stats_url: &str, timeout: Duration) -> Result<Self, String> {
        let base = stats_url.trim_end_matches('/');
        Self::new(base.strip_suffix("/stats").unwrap_or(base), timeout)
    }

    /// The `/stats` URL, for messages.
    pub fn stats_url(&self) -> String {
        format!("{}/stats", self.base)
    }

    /// `GET /stats` as JSON; the error is one sentence naming the URL.
    pub async fn stats(&self) -> Result<serde_json::Value, StatsError> {
        let url = self.stats_url();
        let response = self.http.get(&url).send().await.map_err(|e| {
            if e.is_connect() {
                StatsError::NotRunning(url.clone())
            } else {
                StatsError::Other(format!("jicofo at {url} does not answer ({e})"))
            }
        })?;
        let bad = |e: String| StatsError::Other(format!("jicofo at {url} answered badly ({e})"));
        if !response.status().is_success() {
            return Err(StatsError::Other(format!(
                "jicofo at {url} answered {}",
                response.status()
            )));
        }
        let body = crate::http_body::read_capped(response, super::videobridge_api::STATS_LIMIT)
            .await
            .map_err(|e| bad(e.to_string()))?;
        serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))
    }

    /// Each bridge from `/debug`.
    pub async fn bridges(&self) -> Result<Vec<SeenBridge>, String> {
        Ok(self.debug().await?.0)
    }

    /// Each bridge and each recorder from one `/debug` answer.
    pub async fn debug(&self) -> Result<(Vec<SeenBridge>, Vec<SeenRecorder>), String> {
        let url = format!("{}/debug", self.base);
        let body = debug(&self.http, &url).await?;
        let bridges = parse_debug(&body).map_err(|e| format!("jicofo at {url}: {e}"))?;
        Ok((bridges, parse_recorders(&body)))
    }

    /// jicofo's own verdict from `/about/health`.
    pub async fn health(&self) -> Result<(), String> {
        health(&self.http, &self.base).await
    }
}

/// One videobridge as jicofo's `/debug` describes it.
///
/// The shape follows jitsi/jicofo at 7ebb13dc3539 (2026-08-19), read 2026-12-01:
/// `jicofo/src/main/kotlin/org/jitsi/jicofo/ktor/Application.kt` (72d22deda, 2026-06-10)
/// serves `GET /debug` when `jicofo.rest.debug.enabled` (true in jicofo's reference.conf,
/// which our jicofo.conf leaves alone); `JicofoServices.kt` (6e5117078) puts the
/// selector's state under `bridge_selector`; `BridgeSelector.kt` (076a4c79c) keys each
/// bridge by its brewery occupant JID under `bridge`; `Bridge.kt` (72d22deda) writes
/// `stress`, `version`, `region`, `operational`, `drain`, `graceful-shutdown`,
/// `shutting-down` and `endpoints` (an unknown region or version is the string "null").
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SeenBridge {
    /// Its name in the brewery (the MUC nickname, the JID's resource): the instance id on a
    /// bridge of a deployment.
    pub id: String,
    /// Its occupant JID in the brewery, as jicofo keys it.
    pub jid: String,
    /// The stress it last reported (about 0 to 1).
    pub stress: f64,
    /// Its jitsi-videobridge version, when it reported one.
    pub version: Option<String>,
    /// Its relay region, when it reported one.
    pub region: Option<String>,
    /// Whether jicofo may place conferences on it.
    pub operational: bool,
    /// In drain mode: no new conferences.
    pub draining: bool,
    /// Shutting down gracefully (its conferences end or move).
    pub graceful_shutdown: bool,
    /// Shutting down now.
    pub shutting_down: bool,
    /// Endpoints jicofo has placed on it.
    pub endpoints: u64,
}

impl SeenBridge {
    /// One line for `meet-agent status`: id, stress, version, region and condition.
    pub fn line(&self) -> String {
        let condition = if !self.operational {
            "not operational"
        } else if self.shutting_down {
            "shutting down"
        } else if self.graceful_shutdown {
            "shutting down gracefully"
        } else if self.draining {
            "draining"
        } else {
            "operational"
        };
        format!(
            "{}: stress {:.2}, version {}, region {}, {} endpoint(s), {condition}",
            self.id,
            self.stress,
            self.version.as_deref().unwrap_or("unknown"),
            self.region.as_deref().unwrap_or("none"),
            self.endpoints,
        )
    }
}

/// The bridges in `/debug`'s answer, sorted by id; an error names what is missing.
pub fn parse_debug(body: &serde_json::Value) -> Result<Vec<SeenBridge>, String> {
    let bridges = body
        .get("bridge_selector")
        .and_then(|s| s.get("bridge"))
        .and_then(|b| b.as_object())
        .ok_or("its answer has no bridge_selector.bridge object")?;
    // Kotlin's `null.toString()` is "null": jicofo writes that for a bridge that has not
    // reported a region or version yet.
    let text = |v: &serde_json::Value, key: &str| {
        v.get(key)
            .and_then(|x| x.as_str())
            .filter(|x| !x.is_empty() && *x != "null")
            .map(|x| crate::printable::printable(x, 100))
    };
    let flag = |v: &serde_json::Value, key: &str| v.get(key).and_then(|x| x.as_bool());
    let mut list: Vec<SeenBridge> = bridges
        .iter()
        .map(|(jid, v)| SeenBridge {
            id: crate::printable::printable(
                jid.rsplit_once('/').map_or(jid.as_str(), |(_, nick)| nick),
                100,
            ),
            jid: crate::printable::printable(jid, 300),
            stress: v.get("stress").and_then(|x| x.as_f64()).unwrap_or(0.0),
            version: text(v, "version"),
            region: text(v, "region"),
            operational: flag(v, "operational").unwrap_or(false),
            // jicofo assumes a bridge drains until it says otherwise.
            draining: flag(v, "drain").unwrap_or(true),
            graceful_shutdown: flag(v, "graceful-shutdown").unwrap_or(false),
            shutting_down: flag(v, "shutting-down").unwrap_or(false),
            endpoints: v.get("endpoints").and_then(|x| x.as_u64()).unwrap_or(0),
        })
        .collect();
    list.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(list)
}

/// The most of jicofo's `/debug` answer read (it lists every conference too).
const DEBUG_LIMIT: usize = 16 << 20;

/// One recorder (jibri) as jicofo's `/debug` describes it: jicofo 7ebb13dc
/// `jibri/JibriDetector.kt` `debugState` keys each instance by its brewery nickname, with
/// the `health_status` and `busy_status` of its last presence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SeenRecorder {
    /// Its nickname in JibriBrewery (the instance id on a recorder of a deployment).
    pub id: String,
    /// `idle` or `busy` (what its presence said; `unknown` before it said anything).
    pub busy: String,
    /// Whether its presence said healthy.
    pub healthy: bool,
}

impl SeenRecorder {
    /// One line for `meet-agent status`.
    pub fn line(&self) -> String {
        format!(
            "{}: {}, {}",
            self.id,
            self.busy,
            if self.healthy { "healthy" } else { "unhealthy" }
        )
    }
}

/// The recorders in `/debug`'s `jibri_detector` (the string "null" without a brewery),
/// sorted by id.
pub fn parse_recorders(body: &serde_json::Value) -> Vec<SeenRecorder> {
    let Some(detector) = body.get("jibri_detector").and_then(|d| d.as_object()) else {
        return Vec::new();
    };
    let word = |v: &serde_json::Value, key: &str| {
        v.get(key)
            .and_then(|x| x.as_str())
            .filter(|x| !x.is_empty() && *x != "null")
            .map_or("unknown".to_string(), |x| {
                crate::printable::printable(&x.to_ascii_lowercase(), 20)
            })
    };
    let mut list: Vec<SeenRecorder> = detector
        .iter()
        .filter(|(_, v)| v.is_object())
        .map(|(nick, v)| SeenRecorder {
            id: crate::printable::printable(nick, 100),
            busy: word(v, "busy_status"),
            healthy: word(v, "health_status") == "healthy",
        })
        .collect();
    list.sort_by(|a, b| a.id.cmp(&b.id));
    list
}

/// Asks jicofo's `/debug` at `url` (below [`local_base`] on a signaling node).
async fn debug(client: &reqwest::Client, url: &str) -> Result<serde_json::Value, String> {
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("jicofo at {url} does not answer ({e})"))?;
    if !resp.status().is_success() {
        return Err(format!(
            "jicofo at {url} answered {} (is jicofo.rest.debug.enabled false in {LOCAL}?)",
            resp.status()
        ));
    }
    // /debug also carries every conference; a busy node's answer is large but bounded.
    let bytes = crate::http_body::read_capped(resp, DEBUG_LIMIT)
        .await
        .map_err(|e| format!("jicofo at {url} answered badly ({e})"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("jicofo at {url} answered badly ({e})"))
}

/// The most of jicofo's `/about/health` answer read ("OK" or one line of why not).
const HEALTH_LIMIT: usize = 4096;

/// Asks jicofo's `/about/health` at `base` (jicofo's own periodic checks: XMPP connected, a
/// conference can be set up on a bridge; jicofo 7ebb13dc ktor/Application.kt and
/// health/JicofoHealthChecker.kt): `Ok` on 200, else one sentence of what jicofo said.
async fn health(client: &reqwest::Client, base: &str) -> Result<(), String> {
    let url = format!("{base}/about/health");
    let resp = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("jicofo at {url} does not answer ({e})"))?;
    let status = resp.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        // The route exists only with the checks on, which the rendered jicofo.conf asks for.
        return Err(format!(
            "jicofo's health checks are off ({url} answers 404): remove any `health.enabled = false` from {LOCAL}"
        ));
    }
    let body = crate::http_body::read_capped(resp, HEALTH_LIMIT)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    if status.is_success() {
        return Ok(());
    }
    let said = crate::printable::printable(body.trim(), 200);
    Err(format!(
        "jicofo reports itself unhealthy ({url} answered {}: {said}); see `journalctl -u jicofo`",
        status.as_u16()
    ))
}

/// What is wrong with the bridges jicofo sees, one sentence each: a bridge jicofo does
/// not use, and bridges of different versions (jicofo never mixes them in a conference).
pub fn problems(list: &[SeenBridge]) -> Vec<String> {
    let mut out: Vec<String> = list
        .iter()
        .filter(|b| !b.operational)
        .map(|b| {
            format!(
                "jicofo sees bridge {} but does not use it (not operational: it failed a health check or stopped reporting); see `journalctl -u jitsi-videobridge2` on that bridge",
                b.id
            )
        })
        .collect();
    let mut versions: Vec<&str> = list.iter().filter_map(|b| b.version.as_deref()).collect();
    versions.sort_unstable();
    versions.dedup();
    if versions.len() > 1 {
        out.push(format!(
            "the bridges run different versions ({}), and jicofo never puts two versions in one conference; start every bridge from the same image",
            versions.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/debug` as jicofo 7ebb13dc3539 writes it (BridgeSelector.kt, Bridge.kt), abridged
    /// to the parts read here.
    fn debug_answer() -> serde_json::Value {
        serde_json::json!({
            "focus_manager": {},
            "bridge_selector": {
                "strategy": "RegionBasedBridgeSelectionStrategy",
                "bridge": {
                    "jvbbrewery@internal.auth.meet.example.org/jvb-i-0b": {
                        "corrected-stress": 0.5, "drain": true, "endpoints": 0,
                        "endpoint-restart-requests": 0, "failing-ice": false,
                        "graceful-shutdown": false, "healthy": true, "operational": true,
                        "overloaded": false, "region": "null", "relay-id": "jvb-i-0b",
                        "release": "null", "shutting-down": false, "stress": 0.0,
                        "version": "null"
                    },
                    "jvbbrewery@internal.auth.meet.example.org/jvb-i-0a": {
                        "corrected-stress": 0.31, "drain": false, "endpoints": 7,
                        "graceful-shutdown": false, "healthy": true, "operational": true,
                        "overloaded": false, "region": "eu-central-1", "relay-id": "jvb-i-0a",
                        "shutting-down": false, "stress": 0.25, "version": "2.3.209-gd1b4a1b"
                    }
                }
            },
            // JibriDetector.kt debugState: instances by nickname beside two plain keys.
            "jibri_detector": {
                "is_sip": false,
                "brewery_jid": "JibriBrewery@internal.auth.meet.example.org",
                "jibri-i-0r2": { "health_status": "healthy", "busy_status": "busy",
                                 "reports_available": false },
                "jibri-i-0r1": { "health_status": "unhealthy", "busy_status": "idle" }
            }
        })
    }

    #[test]
    fn debug_lists_each_recorder_by_its_nickname() {
        let list = parse_recorders(&debug_answer());
        let lines: Vec<String> = list.iter().map(SeenRecorder::line).collect();
        assert_eq!(
            lines,
            ["jibri-i-0r1: idle, unhealthy", "jibri-i-0r2: busy, healthy"]
        );
        // jicofo without a jibri brewery writes the string "null".
        assert!(parse_recorders(&serde_json::json!({"jibri_detector": "null"})).is_empty());
    }

    #[test]
    fn debug_lists_each_bridge_by_its_nickname() {
        let list = parse_debug(&debug_answer()).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].id, "jvb-i-0a");
        assert_eq!(list[0].version.as_deref(), Some("2.3.209-gd1b4a1b"));
        assert_eq!(list[0].region.as_deref(), Some("eu-central-1"));
        assert_eq!(list[0].endpoints, 7);
        assert_eq!(
            list[0].line(),
            "jvb-i-0a: stress 0.25, version 2.3.209-gd1b4a1b, region eu-central-1, 7 endpoint(s), operational"
        );
        // "null" is Kotlin's text for no value: not a version or region.
        assert_eq!(list[1].version, None);
        assert_eq!(list[1].region, None);
        assert!(list[1]
            .line()
            .ends_with("version unknown, region none, 0 endpoint(s), draining"));
        assert!(problems(&list).is_empty());
    }

    #[test]
    fn a_non_operational_bridge_and_mixed_versions_are_problems() {
        let mut list = parse_debug(&debug_answer()).unwrap();
        list[1].version = Some("2.3.100".into());
        list[1].operational = false;
        let p = problems(&list);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].contains("bridge jvb-i-0b but does not use it"),
            "{p:?}"
        );
        assert!(p[1].contains("(2.3.100, 2.3.209-gd1b4a1b)"), "{p:?}");
        assert!(list[1].line().ends_with("not operational"));
    }

    /// A one-request HTTP server on loopback answering `status` with `body`.
    async fn answer_once(status: &str, body: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let reply = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        tokio::spawn(async move {
            if let Ok((mut tcp, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = tcp.read(&mut buf).await;
                let _ = tcp.write_all(reply.as_bytes()).await;
            }
        });
        base
    }

    #[tokio::test]
    async fn debug_is_asked_and_its_absence_is_explained() {
        crate::install_crypto_provider();
        let base = answer_once("200 OK", &debug_answer().to_string()).await;
        let jicofo = Jicofo::new(&base, std::time::Duration::from_secs(5)).unwrap();
        let (list, recorders) = jicofo.debug().await.unwrap();
        assert_eq!((list.len(), recorders.len()), (2, 2));
        // jicofo without the debug endpoint (jicofo.rest.debug.enabled = false) answers 404.
        let base = answer_once("404 Not Found", "").await;
        let jicofo = Jicofo::new(&base, std::time::Duration::from_secs(5)).unwrap();
        let e = jicofo.debug().await.unwrap_err();
        assert!(e.contains("/debug answered 404"), "{e}");
        assert!(e.contains("jicofo.rest.debug.enabled"), "{e}");
    }

    #[tokio::test]
    async fn health_is_ok_on_200_and_says_why_otherwise() {
        crate::install_crypto_provider();
        let client = crate::http_body::local_client(std::time::Duration::from_secs(5)).unwrap();
        let base = answer_once("200 OK", "OK").await;
        assert_eq!(health(&client, &base).await, Ok(()));
        // jicofo 7ebb13dc's own words when no bridge is usable (JicofoHealthChecker.kt).
        let base = answer_once(
            "503 Service Unavailable",
            "No operational bridges available (total bridge count: 0)\u{1b}[2J",
        )
        .await;
        let e = health(&client, &base).await.unwrap_err();
        assert!(
            e.contains("jicofo reports itself unhealthy (")
                && e.contains("/about/health answered 503: No operational bridges available (total bridge count: 0)"),
            "{e}"
        );
        assert!(!e.contains('\u{1b}'), "control characters shown: {e}");
        // Health checks off (reference.conf's default): the route does not exist.
        let base = answer_once("404 Not Found", "").await;
        let e = health(&client, &base).await.unwrap_err();
        assert!(e.contains("health checks are off"), "{e}");
        assert!(e.contains("health.enabled"), "{e}");
    }

    #[test]
    fn an_answer_without_bridges_is_named() {
        for body in [
            serde_json::json!({}),
            serde_json::json!({"bridge_selector": {}}),
        ] {
            assert!(parse_debug(&body)
                .unwrap_err()
                .contains("bridge_selector.bridge"));
        }
        let none = serde_json::json!({"bridge_selector": {"strategy": "x", "bridge": {}}});
        assert!(parse_debug(&none).unwrap().is_empty());
    }
}
