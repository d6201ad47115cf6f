//! Scale-in end to end against stand-ins on loopback (tests/standin/aws_standin.py): the
//! IMDS stand-in turns the lifecycle state to Terminated (or posts a spot notice), the
//! bridge REST stand-in holds conferences, the AWS endpoint stand-in verifies the lifecycle
//! calls' signatures. Power-off goes to a recorder here (the real logind path is in
//! scale_drain_logind.rs).

#[path = "common/aws_standin.rs"]
mod aws_standin;
use aws_standin::Standin;
use meet_agent::scale::drain::{hook_bounds, Bounds, Decision, Finished, PowerOff, Runner};
use meet_agent::scale::workload::Workload;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Each power-off: when, and the AWS calls (action, accepted) seen by then.
type Seen = Arc<Mutex<Vec<(Instant, Vec<String>)>>>;

/// Records when power-off was asked for, and the AWS calls the stand-in had seen by then.
#[derive(Clone)]
struct Recorder {
    imds: String,
    seen: Seen,
}

impl PowerOff for Recorder {
    fn power_off(&self) -> impl Future<Output = anyhow::Result<()>> + Send {
        let (imds, seen) = (self.imds.clone(), self.seen.clone());
        async move {
            let log: serde_json::Value = reqwest::Client::builder()
                .no_proxy()
                .build()?
                .get(format!("{imds}/_standin/log"))
                .send()
                .await?
                .json()
                .await?;
            let calls = log["aws"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| format!("{} {}", c["action"].as_str().unwrap(), c["ok"]))
                .collect();
            seen.lock().unwrap().push((Instant::now(), calls));
            Ok(())
        }
    }
}

fn bounds(max_wait_ms: u64, heartbeat_ms: u64, spot_ms: u64) -> Bounds {
    Bounds {
        max_wait: Duration::from_millis(max_wait_ms),
        heartbeat_timeout: Duration::from_millis(heartbeat_ms),
        spot_window: Duration::from_millis(spot_ms),
        silent_polls: 3,
        complete_attempts: 3,
    }
}

/// Runs the drain on the stand-ins to the end (or `limit`); returns the recorder, when
/// it started, and the decisions made.
async fn drain(
    standin: &Standin,
    bounds: Bounds,
    limit: Duration,
) -> (Recorder, Instant, Vec<Decision>) {
    drain_of(standin, standin.bridge_client(), bounds, limit).await
}

/// [`drain`] of `workload` (the bridge, or jibri on a recorder).
async fn drain_of<W: Workload>(
    standin: &Standin,
    workload: W,
    bounds: Bounds,
    limit: Duration,
) -> (Recorder, Instant, Vec<Decision>) {
    let imds = standin.imds_client();
    let recorder = Recorder {
        imds: standin.imds.clone(),
        seen: Arc::default(),
    };
    let runner = Runner::new(
        imds.clone(),
        standin.aws_client(imds),
        workload,
        Standin::action(),
        bounds,
        Duration::from_millis(50),
        recorder.clone(),
    );
    let mut decisions = Vec::new();
    let start = Instant::now();
    let _ = tokio::time::timeout(limit, runner.run(|d| decisions.push(d.clone()))).await;
    (recorder, start, decisions)
}

/// One power-off, no sooner than `ms` after `start` (while work remained), and the
/// lifecycle action completed before it and nothing else.
fn completed_then_powered_off_after(
    recorder: &Recorder,
    start: Instant,
    decisions: &[Decision],
    ms: u64,
) {
    let seen = recorder.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "one power-off: {decisions:?}");
    let (at, calls) = &seen[0];
    assert!(
        *at - start >= Duration::from_millis(ms),
        "no power-off while work remained: {:?}",
        *at - start
    );
    assert_eq!(calls, &["CompleteLifecycleAction true"], "completed first");
}

async fn shutdown_requests(standin: &Standin) -> Vec<String> {
    standin.log().await["bridge"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["request"] == "POST /colibri/shutdown")
        .map(|r| r["body"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_in_waits_for_the_last_meeting_then_completes_and_powers_off() {
    let standin = Standin::start();
    standin
        .set(serde_json::json!({"lifecycle": "Terminated", "conferences": 2}))
        .await;
    let ends = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        standin.set(serde_json::json!({"conferences": 0})).await;
    };
    let ((recorder, start, decisions), ()) = tokio::join!(
        drain(
            &standin,
            bounds(20_000, 60_000, 100_000),
            Duration::from_secs(15)
        ),
        ends
    );
    completed_then_powered_off_after(&recorder, start, &decisions, 1500);
    let requests = shutdown_requests(&standin).await;
    assert_eq!(
        requests.len(),
        1,
        "graceful shutdown asked once: {requests:?}"
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&requests[0]).unwrap(),
        serde_json::json!({"graceful-shutdown": true})
    );
    assert!(decisions.iter().any(|d| matches!(
        d,
        Decision::Wait {
            conferences: Some(2),
            ..
        }
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_at_scale_in_takes_no_new_recording_and_finishes_the_one_it_makes() {
    let standin = Standin::start();
    standin
        .set(serde_json::json!({"lifecycle": "Terminated", "jibri_busy": true, "exit_when_idle": true}))
        .await;
    let ends = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        standin.set(serde_json::json!({"jibri_busy": false})).await;
    };
    let ((recorder, start, decisions), ()) = tokio::join!(
        drain_of(
            &standin,
            standin.jibri_client(),
            bounds(20_000, 60_000, 100_000),
            Duration::from_secs(15)
        ),
        ends
    );
    completed_then_powered_off_after(&recorder, start, &decisions, 1500);
    let log = standin.log().await;
    let graceful = log["bridge"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["request"] == "POST /jibri/api/internal/v1.0/gracefulShutdown")
        .count();
    assert_eq!(graceful, 1, "jibri asked once to take no new recording");
    assert!(decisions.iter().any(|d| matches!(
        d,
        Decision::Wait {
            conferences: Some(1),
            ..
        }
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meetings_that_outlast_the_bound_are_heartbeated_then_ended_at_the_bound() {
    let standin = Standin::start();
    standin
        .set(serde_json::json!({"lifecycle": "Terminated", "conferences": 3}))
        .await;
    let (recorder, start, decisions) = drain(
        &standin,
        bounds(2500, 1000, 100_000),
        Duration::from_secs(15),
    )
    .await;
    let seen = recorder.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{decisions:?}");
    let (at, calls) = &seen[0];
    assert!(
        *at - start >= Duration::from_millis(2500),
        "not before the bound: {:?}",
        *at - start
    );
    let heartbeats = calls
        .iter()
        .filter(|c| *c == "RecordLifecycleActionHeartbeat true")
        .count();
    assert!(heartbeats >= 2, "{calls:?}");
    assert_eq!(
        calls.last().unwrap(),
        "CompleteLifecycleAction true",
        "{calls:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spot_notice_drains_at_once_and_does_not_wait_beyond_it() {
    let standin = Standin::start();
    standin
        .set(serde_json::json!({
            "lifecycle": "InService",
            "conferences": 1,
            "spot": {"action": "terminate", "time": "2026-12-01T12:02:00Z"},
        }))
        .await;
    let (recorder, start, decisions) = drain(
        &standin,
        bounds(60_000, 30_000, 1000),
        Duration::from_secs(15),
    )
    .await;
    let seen = recorder.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{decisions:?}");
    let waited = seen[0].0 - start;
    assert!(
        waited >= Duration::from_millis(1000) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    // No lifecycle hook holds the instance: nothing to complete.
    assert!(seen[0].1.is_empty(), "{:?}", seen[0].1);
    assert_eq!(shutdown_requests(&standin).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_in_service_is_never_drained() {
    let standin = Standin::start();
    standin.set(serde_json::json!({"conferences": 0})).await;
    let (recorder, _, decisions) =
        drain(&standin, bounds(100, 100, 100), Duration::from_millis(800)).await;
    assert!(recorder.seen.lock().unwrap().is_empty());
    // It kept watching the whole time (polls every 50 ms for 800 ms), not stopped early.
    assert!(decisions.len() >= 5, "{decisions:?}");
    assert!(
        decisions.iter().all(|d| *d == Decision::Watch),
        "{decisions:?}"
    );
    assert!(standin.log().await["bridge"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_that_exits_after_its_last_meeting_counts_as_drained() {
    let standin = Standin::start();
    standin
        .set(serde_json::json!({"lifecycle": "Terminated", "conferences": 1, "exit_when_idle": true}))
        .await;
    let ends = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        // The bridge's last conference ends; in graceful shutdown it then exits (the
        // stand-in answers 503 from then on, never a count of 0).
        standin.set(serde_json::json!({"conferences": 0})).await;
    };
    let ((recorder, start, decisions), ()) = tokio::join!(
        drain(
            &standin,
            bounds(20_000, 60_000, 100_000),
            Duration::from_secs(15)
        ),
        ends
    );
    let seen = recorder.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{decisions:?}");
    assert!(seen[0].0 - start >= Duration::from_millis(500));
    assert!(seen[0].0 - start < Duration::from_secs(10));
    assert_eq!(seen[0].1, ["CompleteLifecycleAction true"]);
    assert!(
        decisions.contains(&Decision::Complete(Finished::BridgeGone)),
        "{decisions:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drain_is_bounded_by_the_hooks_own_timeouts() {
    let standin = Standin::start();
    // A hook with a 2 s heartbeat timeout and a 5 s global timeout (AWS's minimum is 30 s;
    // the stand-in's seconds keep the test short), and meetings that never end.
    standin
        .set(serde_json::json!({"hook_heartbeat": 2, "hook_global": 5}))
        .await;
    let imds = standin.imds_client();
    let aws = standin.aws_client(imds);
    let (bounds, line) = hook_bounds(&aws, &Standin::action()).await;
    assert_eq!(bounds.heartbeat_timeout, Duration::from_secs(2), "{line}");
    assert_eq!(bounds.max_wait, Duration::from_millis(4500), "{line}");
    assert!(
        line.contains("heartbeat timeout 2s, global timeout 5s"),
        "{line}"
    );
    let described = standin.log().await["aws"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "DescribeLifecycleHooks")
        .cloned()
        .expect("DescribeLifecycleHooks was called");
    assert_eq!(described["ok"], true, "signed and accepted: {described}");
    assert_eq!(
        described["params"]["LifecycleHookNames.member.1"],
        aws_standin::HOOK
    );

    standin
        .set(serde_json::json!({"lifecycle": "Terminated", "conferences": 2}))
        .await;
    let (recorder, start, decisions) = drain(&standin, bounds, Duration::from_secs(15)).await;
    let seen = recorder.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{decisions:?}");
    let (at, calls) = &seen[0];
    let waited = *at - start;
    assert!(
        waited >= Duration::from_millis(4500) && waited < Duration::from_secs(5),
        "completed within the hook's global timeout, not before the bound: {waited:?}"
    );
    // Heartbeats every half heartbeat timeout: never 2 s without one.
    let times: Vec<f64> = standin.log().await["aws"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "RecordLifecycleActionHeartbeat" && c["ok"] == true)
        .map(|c| c["time"].as_f64().unwrap())
        .collect();
    assert!(times.len() >= 3, "{calls:?}");
    assert!(
        times.windows(2).all(|w| w[1] - w[0] < 2.0),
        "heartbeats too far apart: {times:?}"
    );
    assert_eq!(calls.last().unwrap(), "CompleteLifecycleAction true");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_that_cannot_be_read_leaves_the_default_bound_and_says_why() {
    let standin = Standin::start();
    standin
        .set(serde_json::json!({"hooks_error": "AccessDenied"}))
        .await;
    let imds = standin.imds_client();
    let aws = standin.aws_client(imds);
    let (bounds, line) = hook_bounds(&aws, &Standin::action()).await;
    assert_eq!(bounds.max_wait, Bounds::default().max_wait);
    assert_eq!(
        bounds.heartbeat_timeout,
        Bounds::default().heartbeat_timeout
    );
    assert!(
        line.contains("could not read lifecycle hook ryo-jitsi-drain")
            && line.contains("AccessDenied")
            && line.contains("default drain bound"),
        "{line}"
    );
    // A group without that hook: the same fallback, naming the key.
    standin
        .set(serde_json::json!({"hooks_error": null, "hook": "another-hook"}))
        .await;
    let (_, line) = hook_bounds(&aws, &Standin::action()).await;
    assert!(
        line.contains("no lifecycle hook named ryo-jitsi-drain (bridge.drain_hook)"),
        "{line}"
    );
}
