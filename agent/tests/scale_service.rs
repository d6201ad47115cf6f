//! `meet-agent scale`, the command meet-agent-scale.service runs on a videobridge of an
//! Auto Scaling group, end to end with the real binary against stand-ins for what cannot
//! run here (tests/standin/aws_standin.py: IMDSv2 with role credentials and the lifecycle
//! state, an AWS endpoint that verifies every SigV4 signature, the bridge's REST API) and a
//! logind stand-in on a private D-Bus: it publishes the bridge's stress level, and on
//! scale-in asks the bridge for graceful shutdown, keeps the machine up while a meeting
//! runs, then completes the lifecycle action and powers off, and exits.

#[path = "common/aws_standin.rs"]
mod aws_standin;
#[path = "common/bus.rs"]
mod bus;
mod common;
#[path = "common/logind.rs"]
mod logind;
use aws_standin::{Standin, HOOK};
use bus::Bus;
use common::{text, Root};
use std::time::{Duration, Instant};

/// The stress level the bridge stand-in serves.
const STRESS: f64 = 0.42;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_publishes_the_stress_level_then_drains_completes_and_powers_off() {
    let bus = Bus::start();
    let login = logind::Logind::serve(&bus.address, None).await;
    let standin = Standin::with_moto();
    standin
        .set(serde_json::json!({"stress_level": STRESS, "conferences": 1}))
        .await;

    let pair = meet_agent::bridge::xmpp_cert::generate(
        "meet.example.test",
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    // An address, not a name: status probes the signaling node, and a name would be
    // resolved through this machine's DNS (tests send nothing beyond loopback).
    let token = meet_agent::bridge::token::Token::new(
        "127.0.0.1",
        5222,
        "meet.example.test",
        "the-deployment-jvb-password",
        &pair.chain_pem(),
    )
    .unwrap();
    let root = Root::new();
    root.config(
        "00.toml",
        &format!(
            "[source]\nprovider = \"none\"\nec2_endpoint = \"{}\"\naws_endpoint = \"{}\"\n\
             [server]\nrole = \"videobridge\"\n[bridge]\njoin = \"{}\"\ndrain_hook = \"{HOOK}\"\n\
             [schedule]\nvideobridge_stats_url = \"{}/colibri/stats\"\n",
            standin.imds,
            standin.aws,
            token.encode(),
            standin.bridge
        ),
    );
    // The boot's run: the bridge's files and this boot's effective configuration (status
    // reads the role from it).
    root.write("/etc/machine-id", "99999999999999999999999999999999\n");
    let run = root.run(&["run"]);
    assert_eq!(root.step("jitsi")["state"], "ok", "{}", text(&run));
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_meet-agent"))
        .arg("--root")
        .arg(root.path())
        .arg("scale")
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .kill_on_drop(true)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();

    // In service: the stress level reaches CloudWatch, signed (the stand-in checks).
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let log = standin.log().await;
        let put = log["aws"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["action"] == "PutMetricData")
            .cloned();
        if let Some(put) = put {
            assert_eq!(put["ok"], true, "{put}");
            // The form body as sent (application/x-www-form-urlencoded), parsed here.
            let body = put["body"].as_str().expect("the stand-in logs the body");
            let form: std::collections::HashMap<String, String> =
                reqwest::Url::parse(&format!("http://form.invalid/?{body}"))
                    .unwrap()
                    .query_pairs()
                    .into_owned()
                    .collect();
            assert_eq!(form["Namespace"], "RyoJitsi", "{form:?}");
            assert_eq!(form["MetricData.member.1.MetricName"], "StressLevel");
            let value: f64 = form["MetricData.member.1.Value"].parse().unwrap();
            assert!(
                (value - STRESS).abs() < 1e-9,
                "published {value}, the bridge said {STRESS}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no PutMetricData: {log}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Status shows what the service did.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = root.run(&["status", "--json"]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let metric = report["deployment"]["scaling"]["metric"]
            .as_str()
            .unwrap_or("")
            .to_string();
        // The publisher and the lifecycle watcher report on their own schedules: the
        // metric can be saved before the watcher's first look (drain still "").
        let drain = report["deployment"]["scaling"]["drain"]
            .as_str()
            .unwrap_or("");
        if metric.contains("stress level 0.42 reported to CloudWatch") && !drain.is_empty() {
            assert_eq!(
                report["deployment"]["scaling"]["drain"], "in service",
                "{report:#}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "status: {report:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Scale-in with a meeting on: graceful shutdown asked, the machine stays up.
    standin
        .set(serde_json::json!({"lifecycle": "Terminated"}))
        .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = standin.log().await;
        if log["bridge"].to_string().contains("POST /colibri/shutdown") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no graceful shutdown asked: {log}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(login.calls().is_empty(), "powered off with a meeting on");
    assert!(
        child.try_wait().unwrap().is_none(),
        "exited with a meeting on"
    );

    // The meeting ends: complete, power off, exit.
    standin.set(serde_json::json!({"conferences": 0})).await;
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("meet-agent scale ends once powered off")
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    // The drain's bound came from the hook (the stand-in's: 3600 s, 48 h), capped at 2 h.
    assert!(
        text(&out).contains(
            "drain bound from lifecycle hook ryo-jitsi-drain: heartbeat timeout 3600s, global timeout 172800s; waiting at most 7200s"
        ),
        "{}",
        text(&out)
    );
    let offs = login.asked.lock().unwrap().clone();
    assert_eq!(offs.len(), 1, "{offs:?}");
    assert_eq!(offs[0].0, "PowerOff false");
    let log = standin.log().await;
    let complete = log["aws"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "CompleteLifecycleAction")
        .cloned()
        .expect("the lifecycle action was completed");
    assert_eq!(complete["ok"], true);
    assert!(complete["time"].as_f64().unwrap() <= offs[0].1);
    // Every AWS call carried a valid signature.
    assert!(
        log["aws"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["ok"] == true),
        "{}",
        log["aws"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_token_in_ssm_is_read_with_the_instance_role() {
    let standin = Standin::with_moto();
    let pair = meet_agent::bridge::xmpp_cert::generate(
        "meet.example.test",
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    let token = meet_agent::bridge::token::Token::new(
        "signal.example.test",
        5222,
        "meet.example.test",
        "the-password-kept-in-ssm",
        &pair.chain_pem(),
    )
    .unwrap();
    standin
        .set(serde_json::json!({"parameters": {"/ryo-jitsi/join": token.encode()}}))
        .await;
    let root_with = |parameter: &str| {
        let root = Root::new();
        root.write("/etc/machine-id", "88888888888888888888888888888888\n");
        root.config(
            "00.toml",
            &format!(
                "[source]\nprovider = \"none\"\nec2_endpoint = \"{}\"\naws_endpoint = \"{}\"\n\
                 [server]\nrole = \"videobridge\"\n[bridge]\njoin = \"ssm:{parameter}\"\n",
                standin.imds, standin.aws
            ),
        );
        root
    };
    let root = root_with("/ryo-jitsi/join");
    let out = root.run(&["run"]);
    assert_eq!(root.step("jitsi")["state"], "ok", "{}", text(&out));
    let jvb = std::fs::read_to_string(root.join(meet_agent::jitsi::videobridge::CONF)).unwrap();
    assert!(
        jvb.contains("PASSWORD = \"the-password-kept-in-ssm\""),
        "{jvb}"
    );
    let calls = standin.aws_calls().await;
    assert!(
        calls.iter().any(|(a, ok)| a == "GetParameter" && *ok),
        "{calls:?}"
    );
    // The token never reaches the log or the state file.
    let state = std::fs::read_to_string(root.join("/var/lib/meet-agent/state.json")).unwrap();
    assert!(
        !state.contains("the-password-kept-in-ssm")
            && !text(&out).contains("the-password-kept-in-ssm")
    );

    // A parameter that does not exist: one line naming the key and the parameter.
    let root = root_with("/ryo-jitsi/missing");
    let out = root.run(&["config", "check"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    let lines: Vec<&str> = said
        .lines()
        .filter(|l| l.starts_with("meet-agent:"))
        .collect();
    assert_eq!(lines.len(), 1, "{said}");
    assert!(
        lines[0].contains("key `bridge.join`") && lines[0].contains("/ryo-jitsi/missing"),
        "{said}"
    );
}
