//! The drain's power-off through the real logind client path: a private D-Bus with a
//! stand-in for logind's Manager (tests/common/logind.rs), the IMDS, bridge and AWS endpoint
//! stand-ins of tests/standin/aws_standin.py. Alone in its binary because it points
//! `DBUS_SYSTEM_BUS_ADDRESS` at the private bus for the whole process.

#[path = "common/aws_standin.rs"]
mod aws_standin;
#[path = "common/bus.rs"]
mod bus;
use aws_standin::Standin;
#[path = "common/logind.rs"]
mod logind;
use bus::Bus;
use meet_agent::scale::drain::{Bounds, Logind, Runner};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_in_completes_the_lifecycle_action_then_powers_off_through_logind() {
    let bus = Bus::start();
    // The only test in this binary: nothing else reads the environment concurrently.
    std::env::set_var("DBUS_SYSTEM_BUS_ADDRESS", &bus.address);
    let login = logind::Logind::serve(&bus.address, None).await;
    let calls = login.asked.clone();

    let standin = Standin::start();
    standin
        .set(serde_json::json!({"lifecycle": "Terminated", "conferences": 1}))
        .await;
    let imds = standin.imds_client();
    let runner = Runner::new(
        imds.clone(),
        standin.aws_client(imds),
        standin.bridge_client(),
        Standin::action(),
        Bounds {
            max_wait: Duration::from_secs(20),
            ..Bounds::default()
        },
        Duration::from_millis(50),
        Logind,
    );
    let ends = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(calls.lock().unwrap().is_empty(), "a meeting is still on");
        standin.set(serde_json::json!({"conferences": 0})).await;
    };
    let (finished, ()) = tokio::join!(
        tokio::time::timeout(Duration::from_secs(15), runner.run(|_| {})),
        ends
    );
    assert!(finished.is_ok(), "the runner ends once logind accepted");

    let logind = calls.lock().unwrap().clone();
    assert_eq!(logind.len(), 1, "{logind:?}");
    assert_eq!(logind[0].0, "PowerOff false");
    let log = standin.log().await;
    let complete = log["aws"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "CompleteLifecycleAction")
        .expect("the lifecycle action was completed");
    assert_eq!(complete["ok"], true);
    assert!(
        complete["time"].as_f64().unwrap() <= logind[0].1,
        "CompleteLifecycleAction before PowerOff"
    );
}
