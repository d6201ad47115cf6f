//! S3 as the tests see it: the buckets of the moto server behind
//! [`Standin::with_moto`](crate::aws_standin::Standin::with_moto), read through AWS's own
//! SDK with the harness's credentials (moto checks every request's signature, so the
//! tests cannot read with made-up ones, and the agent's uploads cannot pass with them).
#![allow(dead_code)]

use crate::aws_standin::Standin;
use serde_json::json;

/// moto's S3, seen by the test harness.
pub struct Moto<'a> {
    standin: &'a Standin,
    /// moto's base URL, the agent's `recording.s3_endpoint`.
    pub url: String,
}

impl<'a> Moto<'a> {
    /// The S3 of `standin`, which must run with moto.
    pub fn of(standin: &'a Standin) -> Self {
        let url = standin.moto.clone().expect("Standin::with_moto");
        Self { standin, url }
    }

    /// Creates bucket `name` in the stand-in's region.
    pub async fn bucket(&self, name: &str) {
        let got = self
            .standin
            .harness(
                "s3",
                "create_bucket",
                json!({"Bucket": name, "CreateBucketConfiguration": {"LocationConstraint": crate::aws_standin::REGION}}),
            )
            .await;
        assert!(got.get("error").is_none(), "{got}");
    }

    /// `Ok(SHA-256)` of the object at `bucket/key`, or `Err(code)` (a digest, so that a
    /// failure does not print megabytes).
    pub async fn digest(&self, path: &str) -> Result<String, String> {
        let (bucket, key) = path.split_once('/').expect("bucket/key");
        let got = self
            .standin
            .harness("s3", "get_object", json!({"Bucket": bucket, "Key": key}))
            .await;
        match got["Body"]["sha256"].as_str() {
            Some(sha) => Ok(sha.to_string()),
            None => Err(got["error"].to_string()),
        }
    }

    /// The keys of `bucket` (ListObjectsV2).
    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        let got = self
            .standin
            .harness("s3", "list_objects_v2", json!({"Bucket": bucket}))
            .await;
        assert!(got.get("error").is_none(), "{got}");
        got["Contents"]
            .as_array()
            .map(|objects| {
                objects
                    .iter()
                    .filter_map(|o| o["Key"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Turns on versioning for `bucket`: every PutObject and completed multipart upload
    /// then leaves a version of its own, so a second upload of one key is counted.
    pub async fn keep_versions(&self, bucket: &str) {
        let got = self
            .standin
            .harness(
                "s3",
                "put_bucket_versioning",
                json!({"Bucket": bucket, "VersioningConfiguration": {"Status": "Enabled"}}),
            )
            .await;
        assert!(got.get("error").is_none(), "{got}");
    }

    /// The key of every version in `bucket` (ListObjectVersions), a key once per upload.
    pub async fn versions(&self, bucket: &str) -> Vec<String> {
        let got = self
            .standin
            .harness("s3", "list_object_versions", json!({"Bucket": bucket}))
            .await;
        assert!(got.get("error").is_none(), "{got}");
        got["Versions"]
            .as_array()
            .map(|versions| {
                versions
                    .iter()
                    .filter_map(|v| v["Key"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many multipart uploads of `bucket` are in progress.
    pub async fn uploads_in_progress(&self, bucket: &str) -> usize {
        let got = self
            .standin
            .harness("s3", "list_multipart_uploads", json!({"Bucket": bucket}))
            .await;
        assert!(got.get("error").is_none(), "{got}");
        got["Uploads"].as_array().map_or(0, Vec::len)
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    meet_agent::encoding::hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}
