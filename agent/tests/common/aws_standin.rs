//! Starts `tests/standin/aws_standin.py`: stand-ins on loopback for EC2's metadata service
//! (IMDSv2 with role credentials and the lifecycle state), an AWS API endpoint that
//! verifies each request's SigV4 signature, and the videobridge's REST API.

// Each test binary uses a different part of it.
#![allow(dead_code)]

use meet_agent::aws::api::{Aws, Endpoints, LifecycleAction};
use meet_agent::aws::imds::Imds;
use meet_agent::jitsi::videobridge_api::Bridge;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// The stand-in's fixed identity (see the script's STATE).
pub const REGION: &str = "eu-central-1";
/// The group the instance is in.
pub const GROUP: &str = "ryo-jitsi-bridges";
/// The termination hook's name.
pub const HOOK: &str = "ryo-jitsi-drain";
/// The instance id.
pub const INSTANCE: &str = "i-0123456789abcdef0";

/// The running stand-ins; killed on drop.
pub struct Standin {
    child: Child,
    /// IMDS base URL.
    pub imds: String,
    /// AWS API endpoint URL.
    pub aws: String,
    /// The bridge's REST base URL.
    pub bridge: String,
    http: reqwest::Client,
}

impl Standin {
    /// Starts the script and reads its ports.
    pub fn start() -> Self {
        meet_agent::install_crypto_provider();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/standin/aws_standin.py");
        let mut child = Command::new("python3")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the AWS stand-in");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ports: serde_json::Value = serde_json::from_str(&line).expect("the stand-in's ports");
        let url = |k: &str| format!("http://127.0.0.1:{}", ports[k]);
        Self {
            imds: url("imds"),
            aws: format!("{}/", url("aws")),
            bridge: url("bridge"),
            child,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    /// Sets state fields (lifecycle, spot, conferences, stress_level, bridge_up, ...).
    pub async fn set(&self, fields: serde_json::Value) {
        let r = self
            .http
            .post(format!("{}/_standin/set", self.imds))
            .body(fields.to_string())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    /// What the stand-ins saw: `{"aws": [...], "imds": [...], "bridge": [...]}`.
    pub async fn log(&self) -> serde_json::Value {
        self.http
            .get(format!("{}/_standin/log", self.imds))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The AWS calls seen, as (action, accepted) pairs.
    pub async fn aws_calls(&self) -> Vec<(String, bool)> {
        self.log().await["aws"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap_or("").to_string(),
                    e["ok"].as_bool().unwrap(),
                )
            })
            .collect()
    }

    /// An access key id and session token the metadata stand-in handed out.
    pub async fn issued(&self) -> (String, String) {
        let v: serde_json::Value = self
            .http
            .post(format!("{}/_standin/forged", self.imds))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (
            v["akid"].as_str().unwrap().into(),
            v["token"].as_str().unwrap().into(),
        )
    }

    /// An IMDS client on the stand-in.
    pub fn imds_client(&self) -> Arc<Imds> {
        Arc::new(Imds::new(&self.imds, Duration::from_secs(2)).unwrap())
    }

    /// An AWS client whose three endpoints are the stand-in.
    pub fn aws_client(&self, imds: Arc<Imds>) -> Arc<Aws> {
        let endpoints = Endpoints {
            cloudwatch: self.aws.clone(),
            autoscaling: self.aws.clone(),
            ssm: self.aws.clone(),
        };
        Arc::new(Aws::new(REGION, endpoints, imds, Duration::from_secs(2)).unwrap())
    }

    /// A client of the bridge stand-in.
    pub fn bridge_client(&self) -> Bridge {
        Bridge::new(&self.bridge, Duration::from_secs(2)).unwrap()
    }

    /// The lifecycle action the stand-in expects.
    pub fn action() -> LifecycleAction {
        LifecycleAction {
            group: GROUP.into(),
            hook: HOOK.into(),
            instance_id: INSTANCE.into(),
        }
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
