//! Starts `tests/standin/aws_standin.py`: stand-ins on loopback for EC2's metadata service
//! (IMDSv2 with role credentials and the lifecycle state), Auto Scaling's lifecycle calls
//! (each request's SigV4 signature verified), and the videobridge's REST API; with
//! [`Standin::with_moto`] also moto's server (a real implementation of CloudWatch, SSM and
//! S3, installed by tests/install-deps) with its signature and permission checks on.

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
    /// moto's base URL (S3 is addressed there directly), with [`Standin::with_moto`].
    pub moto: Option<String>,
    http: reqwest::Client,
}

/// Where tests/install-deps puts moto's server.
const MOTO_DIR: &str = "/var/cache/ryo-jitsi/moto";

impl Standin {
    /// Starts the script without moto: CloudWatch and SSM calls are refused.
    pub fn start() -> Self {
        Self::spawn(false)
    }

    /// Starts the script with moto's server behind it: the instance role's credentials
    /// are moto's, and moto checks every signature and the role's permissions.
    pub fn with_moto() -> Self {
        assert!(
            std::path::Path::new(MOTO_DIR)
                .join("moto/server.py")
                .exists(),
            "moto is missing from {MOTO_DIR}: run `bash tests/install-deps`"
        );
        Self::spawn(true)
    }

    fn spawn(moto: bool) -> Self {
        meet_agent::install_crypto_provider();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/standin/aws_standin.py");
        let mut command = Command::new("/usr/bin/python3");
        command.arg(script);
        if moto {
            command.arg("--moto").env("PYTHONPATH", MOTO_DIR);
        }
        let mut child = command
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
            moto: moto.then(|| url("moto")),
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

    /// One call to moto through AWS's own SDK (boto3) with the harness's credentials,
    /// which may do everything: `operation` is boto3's name (`"get_object"`). An object's
    /// body comes back as `{"len", "sha256"}`; a refusal as `{"error": CODE}`.
    pub async fn harness(
        &self,
        service: &str,
        operation: &str,
        params: serde_json::Value,
    ) -> serde_json::Value {
        let request =
            serde_json::json!({"service": service, "operation": operation, "params": params});
        let r = self
            .http
            .post(format!("{}/_standin/aws", self.imds))
            .body(request.to_string())
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "the stand-in runs with moto: {r:?}"
        );
        r.json().await.unwrap()
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

    /// A client of the jibri stand-in (both of jibri's APIs on the bridge stand-in's port).
    pub fn jibri_client(&self) -> meet_agent::jitsi::jibri_api::Jibri {
        meet_agent::jitsi::jibri_api::Jibri::at(&self.bridge, &self.bridge, Duration::from_secs(2))
            .unwrap()
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
