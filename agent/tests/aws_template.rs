//! docs/aws/scale-out.yaml against the agent it deploys: each launch template's user data
//! (read with cfn-lint's own CloudFormation YAML decoder, its `${...}` filled in as
//! CloudFormation would, `ssm:` values replaced by what the parameters would hold) passes
//! `meet-agent config check` for its role; the metrics the scaling policies and alarms
//! watch are the ones `meet-agent scale` publishes; the lifecycle hook named in the user
//! data is the group's; the recorders may do on S3 what an upload needs and no more.

mod common;
use common::{text, Root};
use meet_agent::bridge::token::Token;
use meet_agent::scale::metrics::Settings;
use std::process::Command;

const DOMAIN: &str = "meet.example.test";

/// What CloudFormation fills in: the parameters' defaults, a domain, an address, a
/// bucket's generated name.
const VALUES: [(&str, &str); 8] = [
    ("Domain", DOMAIN),
    ("VpcCidr", "10.0.0.0/16"),
    ("JoinTokenParameter", "/ryo-jitsi/join-token"),
    ("AuthKeyParameter", "/ryo-jitsi/auth-key"),
    ("RecorderTokenParameter", "/ryo-jitsi/recorder-token"),
    ("SignalingExtraConfig", ""),
    ("SignalingIp", "10.0.0.9"),
    ("RecordingsBucket", "example-stack-recordingsbucket-1a2b3c"),
];

/// The template as JSON (cfn-lint, installed by tests/install-deps, decodes the short
/// forms `!Sub`, `!Ref`, `!GetAtt`).
fn template() -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/aws/scale-out.yaml");
    let out = Command::new("/usr/bin/python3")
        .env("PYTHONPATH", "/var/cache/ryo-jitsi/cfn-lint")
        .args([
            "-c",
            "import json, sys; from cfnlint.decode import cfn_yaml; \
             print(json.dumps(cfn_yaml.loads(open(sys.argv[1]).read())))",
            path,
        ])
        .output()
        .expect("python3");
    assert!(out.status.success(), "cfn-lint's decoder: {}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A resource's user data with `${NAME}` filled from `values`.
fn user_data(t: &serde_json::Value, resource: &str, values: &[(&str, &str)]) -> String {
    let props = &t["Resources"][resource]["Properties"];
    let data = if props["LaunchTemplateData"].is_null() {
        &props["UserData"]
    } else {
        &props["LaunchTemplateData"]["UserData"]
    };
    let sub = &data["Fn::Base64"]["Fn::Sub"];
    let mut text = sub
        .as_str()
        .or_else(|| sub[0].as_str())
        .expect("Fn::Sub text")
        .to_string();
    for (name, value) in values {
        text = text.replace(&format!("${{{name}}}"), value);
    }
    assert!(!text.contains("${"), "unfilled: {text}");
    text
}

fn checked(toml: &str) {
    let root = Root::new();
    root.write("/etc/machine-id", "33333333333333333333333333333333\n");
    root.config("00.toml", &format!("[source]\nprovider = \"none\"\n{toml}"));
    let out = root.run(&["config", "check"]);
    assert_eq!(out.status.code(), Some(0), "{toml}\n{}", text(&out));
}

#[test]
fn every_launch_templates_user_data_is_configuration_its_role_accepts() {
    let t = template();
    let pair =
        meet_agent::bridge::xmpp_cert::generate(DOMAIN, time::OffsetDateTime::now_utc()).unwrap();
    let bridges = Token::new(
        "10.0.0.9",
        5222,
        DOMAIN,
        "jvb-password-0123456789abcdef01",
        &pair.chain_pem(),
    )
    .unwrap()
    .encode();
    let recorders = Token::for_recorder(
        "10.0.0.9",
        5222,
        DOMAIN,
        "jibri-password-0123456789abcdef0",
        "recorder-password-0123456789abcd",
        &pair.chain_pem(),
    )
    .unwrap()
    .encode();
    let key = pair.key.pem();
    // What the SSM parameters hold: the tokens and the key.
    let filled = |text: String| {
        text.replace("ssm:/ryo-jitsi/join-token", &bridges)
            .replace("ssm:/ryo-jitsi/recorder-token", &recorders)
            .replace("ssm:/ryo-jitsi/auth-key", &key.replace('\n', "\\n"))
    };
    for resource in [
        "Signaling",
        "BridgeLaunchTemplate",
        "RecorderLaunchTemplate",
    ] {
        checked(&filled(user_data(&t, resource, &VALUES)));
    }
}

/// The metric names the group's scaling watches.
fn watched_metrics(t: &serde_json::Value) -> Vec<String> {
    let mut names = Vec::new();
    for (_, r) in t["Resources"].as_object().unwrap() {
        let props = &r["Properties"];
        if let Some(n) = props["TargetTrackingConfiguration"]["CustomizedMetricSpecification"]
            ["MetricName"]
            .as_str()
        {
            names.push(n.to_string());
        }
        for m in props["Metrics"].as_array().into_iter().flatten() {
            let metric = &m["MetricStat"]["Metric"];
            if metric["Namespace"] == "RyoJitsi" {
                names.push(metric["MetricName"].as_str().unwrap().to_string());
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

#[test]
fn the_scaling_watches_what_meet_agent_scale_publishes_and_hooks_and_s3_rights_match() {
    let t = template();
    assert_eq!(
        watched_metrics(&t),
        [Settings::recorders().metric, Settings::default().metric]
    );
    assert_eq!(Settings::default().namespace, "RyoJitsi");
    for (group, template) in [
        ("BridgeGroup", "BridgeLaunchTemplate"),
        ("RecorderGroup", "RecorderLaunchTemplate"),
    ] {
        let hook = t["Resources"][group]["Properties"]["LifecycleHookSpecificationList"][0]
            ["LifecycleHookName"]
            .as_str()
            .unwrap();
        let data = user_data(&t, template, &VALUES);
        assert!(
            data.contains(&format!("drain_hook = \"{hook}\"")),
            "{template} drains through {group}'s hook {hook}"
        );
    }
    // The recorders' S3 rights: docs/recording.md's two, on the bucket's objects only.
    let statements =
        &t["Resources"]["RecorderRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"];
    let s3: Vec<&serde_json::Value> = statements
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Action"].to_string().contains("s3:"))
        .collect();
    assert_eq!(s3.len(), 1);
    assert_eq!(
        s3[0]["Action"],
        serde_json::json!(["s3:PutObject", "s3:AbortMultipartUpload"])
    );
}
