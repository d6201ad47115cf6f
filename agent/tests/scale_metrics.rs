//! The scaling signal against stand-ins on loopback (tests/standin/aws_standin.py): the
//! bridge REST stand-in's stress_level goes to the AWS endpoint stand-in, which verifies
//! each PutMetricData's SigV4 signature.

#[path = "common/aws_standin.rs"]
mod aws_standin;
use aws_standin::{Standin, GROUP};
use meet_agent::jitsi::videobridge_api::Bridge;
use meet_agent::scale::metrics::{Outcome, Publisher, Settings};
use std::time::{Duration, Instant};

/// The accepted PutMetricData requests' values and dimensions.
async fn puts(standin: &Standin) -> Vec<(String, String)> {
    standin.log().await["aws"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "PutMetricData")
        .map(|c| {
            assert_eq!(c["ok"], true, "signed and accepted: {c}");
            let p = &c["params"];
            assert_eq!(p["Namespace"], "RyoJitsi");
            assert_eq!(p["MetricData.member.1.MetricName"], "StressLevel");
            assert_eq!(
                p["MetricData.member.1.Dimensions.member.1.Name"],
                "AutoScalingGroupName"
            );
            (
                p["MetricData.member.1.Value"].as_str().unwrap().to_string(),
                p["MetricData.member.1.Dimensions.member.1.Value"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_stress_level_goes_to_cloudwatch_at_most_once_a_minute() {
    let standin = Standin::with_moto();
    standin
        .set(serde_json::json!({"stress_level": 0.37, "conferences": 4}))
        .await;
    let aws = standin.aws_client(standin.imds_client());
    let mut publisher = Publisher::new(standin.bridge_client(), aws, GROUP, Settings::default());
    let t0 = Instant::now();
    assert_eq!(
        publisher.tick(t0).await,
        Outcome::Sent {
            metric: "StressLevel".into(),
            value: 0.37
        }
    );

    standin.set(serde_json::json!({"stress_level": 0.52})).await;
    for later in [1, 10, 59] {
        let outcome = publisher.tick(t0 + Duration::from_secs(later)).await;
        assert!(matches!(outcome, Outcome::NotDue { .. }), "{outcome:?}");
    }
    assert_eq!(
        publisher.tick(t0 + Duration::from_secs(60)).await,
        Outcome::Sent {
            metric: "StressLevel".into(),
            value: 0.52
        }
    );
    assert_eq!(
        puts(&standin).await,
        [
            ("0.37".to_string(), GROUP.to_string()),
            ("0.52".to_string(), GROUP.to_string())
        ]
    );
}

#[tokio::test]
async fn a_publisher_polling_often_still_sends_once_a_minute() {
    let standin = Standin::with_moto();
    standin.set(serde_json::json!({"stress_level": 0.05})).await;
    let aws = standin.aws_client(standin.imds_client());
    let publisher = Publisher::new(standin.bridge_client(), aws, GROUP, Settings::default());
    let mut outcomes = Vec::new();
    let _ = tokio::time::timeout(
        Duration::from_millis(1500),
        publisher.run(Duration::from_millis(50), |o| outcomes.push(o.clone())),
    )
    .await;
    assert!(outcomes.len() > 5, "it polled: {outcomes:?}");
    assert_eq!(
        puts(&standin).await,
        [("0.05".to_string(), GROUP.to_string())]
    );
}

#[tokio::test]
async fn no_request_when_the_stats_cannot_be_read_and_status_says_why() {
    let standin = Standin::with_moto();
    let aws = standin.aws_client(standin.imds_client());

    // Nothing listens where the bridge should be.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = Bridge::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(1)).unwrap();
    let mut publisher = Publisher::new(dead, aws.clone(), GROUP, Settings::default());
    let outcome = publisher.tick(Instant::now()).await;
    match &outcome {
        Outcome::Skipped { reason } => assert!(reason.contains("does not answer"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(
        outcome
            .status()
            .starts_with("no report: the videobridge at"),
        "{}",
        outcome.status()
    );

    // The bridge answers with an error (starting, or broken).
    standin.set(serde_json::json!({"bridge_up": false})).await;
    let mut publisher = Publisher::new(standin.bridge_client(), aws, GROUP, Settings::default());
    let outcome = publisher.tick(Instant::now()).await;
    assert!(
        matches!(&outcome, Outcome::Skipped { reason } if reason.contains("503")),
        "{outcome:?}"
    );
    // A skipped tick does not use up the minute: once the bridge answers, it sends.
    standin
        .set(serde_json::json!({"bridge_up": true, "stress_level": 0.2}))
        .await;
    assert_eq!(
        publisher.tick(Instant::now()).await,
        Outcome::Sent {
            metric: "StressLevel".into(),
            value: 0.2
        }
    );
    assert_eq!(puts(&standin).await.len(), 1);
}

#[tokio::test]
async fn a_recorder_reports_whether_it_records_as_recorder_busy() {
    let standin = Standin::with_moto();
    standin.set(serde_json::json!({"jibri_busy": true})).await;
    let aws = standin.aws_client(standin.imds_client());
    let mut publisher = Publisher::new(standin.jibri_client(), aws, GROUP, Settings::recorders());
    let start = Instant::now();
    assert_eq!(
        publisher.tick(start).await,
        Outcome::Sent {
            metric: "RecorderBusy".into(),
            value: 1.0
        }
    );
    standin.set(serde_json::json!({"jibri_busy": false})).await;
    assert_eq!(
        publisher.tick(start + Duration::from_secs(60)).await,
        Outcome::Sent {
            metric: "RecorderBusy".into(),
            value: 0.0
        }
    );
    // moto kept both points under the group's dimension.
    let got = standin
        .harness(
            "cloudwatch",
            "get_metric_statistics",
            serde_json::json!({
                "Namespace": "RyoJitsi", "MetricName": "RecorderBusy",
                "Dimensions": [{"Name": "AutoScalingGroupName", "Value": GROUP}],
                "StartTime": "2000-01-01T00:00:00Z", "EndTime": "2100-01-01T00:00:00Z",
                "Period": 3600, "Statistics": ["Sum", "SampleCount"]
            }),
        )
        .await;
    assert_eq!(got["Datapoints"][0]["SampleCount"], 2.0, "{got}");
    assert_eq!(got["Datapoints"][0]["Sum"], 1.0, "{got}");
}
