//! The deployment part of the report: on a videobridge its own counters and whether its
//! signaling node answers; on a signaling node the bridges jicofo sees.

use super::report::{BridgesSeen, DeploymentView, Reach, RecorderView, RecordersSeen, Seen};
use crate::bridge::probe::{self, Probe};
use crate::jitsi::videobridge_api::Stats;
use crate::paths::Paths;
use crate::vocab::Role;
use std::time::Duration;

/// What a machine of a deployment found out about its part.
pub enum Deployment {
    /// A videobridge: its REST counters (or why not), the signaling node's probe (not
    /// asked at [`Reach::Local`]) and the scaling service's last report.
    Videobridge {
        /// `/colibri/stats`, or why it did not answer.
        stats: Result<Stats, String>,
        /// What the signaling node's XMPP port presents.
        signaling: Option<Probe>,
        /// meet-agent-scale.service's last report.
        scaling: Option<crate::scale::service::Report>,
    },
    /// A signaling node: the bridges and recorders jicofo sees and jicofo's own health
    /// verdict, or why jicofo did not answer.
    Signaling(Result<(BridgesSeen, RecordersSeen, Option<String>), String>),
    /// An all-in-one server running its own jibri (`recording.local`): jibri's state.
    LocalRecorder(RecorderView),
    /// A recorder: jibri's own state, the recording in progress, the signaling node's
    /// probe (not asked at [`Reach::Local`]).
    Recorder {
        /// jibri and its recording.
        own: RecorderView,
        /// What the signaling node's XMPP port presents.
        signaling: Option<Probe>,
        /// meet-agent-scale.service's last report.
        scaling: Option<crate::scale::service::Report>,
    },
    /// A SIP gateway: the signaling node's probe (not asked at [`Reach::Local`]).
    Gateway {
        /// What the signaling node's XMPP port presents.
        signaling: Option<Probe>,
    },
}

impl Deployment {
    /// The JSON shape's view.
    pub fn view(self) -> DeploymentView {
        let empty = |role| DeploymentView {
            role,
            bridge: None,
            bridges: None,
            signaling: None,
            error: None,
            scaling: None,
            jicofo_unhealthy: None,
            recorders: None,
            recorder: None,
        };
        match self {
            Deployment::Videobridge {
                stats,
                signaling,
                scaling,
            } => {
                let (bridge, error) = match stats {
                    Ok(st) => (Some(st), None),
                    Err(e) => (None, Some(e)),
                };
                DeploymentView {
                    bridge,
                    error,
                    signaling,
                    scaling,
                    ..empty(Role::Videobridge)
                }
            }
            Deployment::Signaling(Ok((seen, recorders, health))) => DeploymentView {
                bridges: Some(seen),
                recorders: Some(recorders),
                jicofo_unhealthy: health,
                ..empty(Role::Signaling)
            },
            Deployment::LocalRecorder(own) => DeploymentView {
                recorder: Some(own),
                ..empty(Role::All)
            },
            Deployment::Recorder {
                own,
                signaling,
                scaling,
            } => DeploymentView {
                recorder: Some(own),
                signaling,
                scaling,
                ..empty(Role::Recorder)
            },
            Deployment::Gateway { signaling } => DeploymentView {
                signaling,
                ..empty(Role::Sip)
            },
            Deployment::Signaling(Err(e)) => DeploymentView {
                error: Some(e),
                ..empty(Role::Signaling)
            },
        }
    }
}

/// The deployment part of the report, from the role of this boot's effective
/// configuration; `None` on a single machine (or before a run).
pub async fn collect(paths: &Paths, seen: Seen<'_>, reach: Reach) -> Option<DeploymentView> {
    let role = match crate::effective::load(paths, seen.facts, seen.drop_ins) {
        Ok(crate::effective::Found::Current(saved)) => saved.operations.role,
        _ => return None,
    };
    let timeout = Duration::from_secs(2);
    let found = match role {
        // A single machine has a deployment part only when it records itself.
        Role::All if !paths.join(crate::paths::JIBRI_CONF).exists() => return None,
        Role::All => Deployment::LocalRecorder(recorder_state(paths, timeout).await),
        Role::Videobridge => videobridge(paths, reach, timeout).await,
        Role::Recorder => recorder(paths, reach, timeout).await,
        // jigasi's own state is the report's SIP part; here its signaling node.
        Role::Sip => Deployment::Gateway {
            signaling: signaling_probe(paths, Role::Sip, reach).await,
        },
        Role::Signaling => Deployment::Signaling(signaling(reach, timeout).await),
    };
    Some(found.view())
}

/// A bridge's own counters and its signaling node, asked at once: the probe may wait its
/// whole bound on a dropping firewall.
async fn videobridge(paths: &Paths, reach: Reach, timeout: Duration) -> Deployment {
    let stats = async {
        match crate::jitsi::videobridge_api::Bridge::local(timeout) {
            Ok(b) => b.stats().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    };
    let (stats, signaling) = tokio::join!(stats, signaling_probe(paths, Role::Videobridge, reach));
    Deployment::Videobridge {
        stats,
        signaling,
        scaling: crate::fsutil::read_json(&paths.scale_file()),
    }
}

/// jibri's health and the recording in progress, and the signaling node's probe, asked at
/// once.
async fn recorder(paths: &Paths, reach: Reach, timeout: Duration) -> Deployment {
    let (own, signaling) = tokio::join!(
        recorder_state(paths, timeout),
        signaling_probe(paths, Role::Recorder, reach)
    );
    Deployment::Recorder {
        own,
        signaling,
        scaling: crate::fsutil::read_json(&paths.scale_file()),
    }
}

/// What the signaling node's XMPP port presents to a joining machine of `role` (not asked
/// at [`Reach::Local`]).
async fn signaling_probe(paths: &Paths, role: Role, reach: Reach) -> Option<Probe> {
    if reach == Reach::Local {
        return None;
    }
    let (file, account): (&str, probe::AccountIn) = match role {
        Role::Recorder => (crate::paths::JIBRI_CONF, probe::recorder_account),
        Role::Sip => (
            crate::jitsi::jigasi::PROPERTIES,
            crate::jitsi::jigasi::xmpp_server_in,
        ),
        _ => (crate::paths::VIDEOBRIDGE_CONF, probe::bridge_account),
    };
    Some(match probe::target(paths, file, account) {
        Ok(t) => probe::probe(&t, probe::TIMEOUT).await,
        Err(e) => Probe::unknown(format!("cannot check the signaling node: {e}")),
    })
}

/// jibri's health, the recording in progress and the disk guard's verdict.
async fn recorder_state(paths: &Paths, timeout: Duration) -> RecorderView {
    let jibri = crate::jitsi::jibri_api::health(timeout).await;
    RecorderView {
        jibri_error: jibri.as_ref().err().cloned(),
        jibri: jibri.ok(),
        recording: crate::recording::spool::in_progress(paths, std::time::SystemTime::now()),
        guard: crate::fsutil::read_json(&paths.join(crate::recording::guard::STATE)),
    }
}

/// The bridges and recorders jicofo sees (`/stats`; each one from `/debug` unless
/// [`Reach::Local`]) and jicofo's own health verdict.
async fn signaling(
    reach: Reach,
    timeout: Duration,
) -> Result<(BridgesSeen, RecordersSeen, Option<String>), String> {
    let jicofo =
        crate::jitsi::jicofo_api::Jicofo::new(&crate::jitsi::jicofo_api::local_base(), timeout)?;
    let body = jicofo.stats().await.map_err(|e| e.to_string())?;
    let mut seen = serde_json::from_value::<BridgesSeen>(body["bridge_selector"].clone())
        .map_err(|e| format!("jicofo at {}: no bridge_selector ({e})", jicofo.stats_url()))?;
    // jicofo 7ebb13dc JibriDetectorMetrics: `jibri_detector` {count, available}; absent
    // (zero) when jicofo watches no brewery.
    let mut recorders =
        serde_json::from_value::<RecordersSeen>(body["jibri_detector"].clone()).unwrap_or_default();
    // jicofo's own verdict (cached by jicofo, cheap): in the banner too.
    let health = jicofo.health().await.err();
    // Each bridge's and recorder's state is only in /debug; without it the counts stand.
    if reach == Reach::Local {
        return Ok((seen, recorders, health));
    }
    match jicofo.debug().await {
        Ok((bridges, list)) => {
            seen.list = bridges;
            recorders.list = list;
        }
        Err(e) => seen.list_error = Some(e),
    }
    Ok((seen, recorders, health))
}
