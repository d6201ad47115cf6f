//! moto's server (PyPI moto[server], installed by tests/install-deps into
//! /var/cache/ryo-jitsi/moto): a real implementation of the AWS APIs on loopback.
//! Note: moto refuses anonymous GETs of private objects and does not check signatures.
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

/// moto's server on a free loopback port; killed on drop.
pub struct Moto {
    child: std::process::Child,
    /// Base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    http: reqwest::Client,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Starts moto's server from tests/install-deps' copy and waits until it listens.
    pub fn start() -> Self {
        let dir = "/var/cache/ryo-jitsi/moto";
        assert!(
            Path::new(dir).join("moto/server.py").exists(),
            "moto is missing from {dir}: run `bash tests/install-deps`"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = std::process::Command::new("/usr/bin/python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .env("PYTHONPATH", dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 runs moto's server");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if start.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("moto's server did not listen within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    /// Creates bucket `name` (CreateBucket).
    pub async fn bucket(&self, name: &str) {
        let r = self
            .http
            .put(format!("{}/{name}", self.url))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{r:?}");
    }

    /// GET `path` as an account would (moto, like S3, refuses anonymous reads of private
    /// objects; it does not check the signature itself).
    pub async fn get(&self, path: &str) -> (u16, Vec<u8>) {
        let r = self
            .http
            .get(format!("{}/{path}", self.url))
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDTEST/20261204/eu-central-1/s3/aws4_request, SignedHeaders=host, Signature=00",
            )
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
    }

    /// The status and the body's SHA-256 of GET `path` (a digest, so that a failure does
    /// not print megabytes).
    pub async fn digest(&self, path: &str) -> (u16, String) {
        let (status, body) = self.get(path).await;
        (status, sha256(&body))
    }

    /// The keys of `bucket` (ListObjectsV2).
    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        let (_, body) = self.get(&format!("{bucket}?list-type=2")).await;
        let text = String::from_utf8_lossy(&body).into_owned();
        text.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next().map(str::to_string))
            .collect()
    }

    /// How many multipart uploads of `bucket` are in progress.
    pub async fn uploads_in_progress(&self, bucket: &str) -> usize {
        let (_, body) = self.get(&format!("{bucket}?uploads")).await;
        String::from_utf8_lossy(&body).matches("<UploadId>").count()
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    meet_agent::encoding::hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}
