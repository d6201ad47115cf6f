//! S3 uploads of finished recordings: `PutObject` for a file of one part, multipart upload
//! (`CreateMultipartUpload`, `UploadPart`, `CompleteMultipartUpload`, and
//! `AbortMultipartUpload` when a part fails) for a larger one. Every request that carries
//! data carries its digests: `Content-MD5`, which S3 and every S3-compatible store check
//! before storing, and `x-amz-checksum-sha256`, which S3 checks too and, for a multipart
//! upload, again over the parts' checksums at completion. An upload that returns success
//! therefore holds exactly the bytes read here. Signed with the instance role's credentials
//! (SigV4, [`super::sign::sign_s3_request`]).
//!
//! Addressing: path style (`ENDPOINT/BUCKET/KEY`) at a configured endpoint (an S3-compatible
//! store, a VPC endpoint, a test's local server), virtual-hosted
//! (`https://BUCKET.s3.REGION.amazonaws.com/KEY`) at AWS's own.

use super::credentials::CredentialCache;
use super::imds::Imds;
use super::sign::{host_header, sign_s3_request, Unsigned};
use super::{one_line, AwsError};
use base64::Engine;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The smallest part S3 accepts (but the last); parts are this size unless configured.
pub const MIN_PART: usize = 5 << 20;
/// The most parts S3 takes in one upload.
const MAX_PARTS: u64 = 10_000;

/// An S3 client for one bucket.
pub struct S3 {
    http: reqwest::Client,
    region: String,
    bucket: String,
    endpoint: Option<String>,
    imds: Arc<Imds>,
    credentials: CredentialCache,
    part_size: usize,
}

/// What an upload stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// The object's key.
    pub key: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// How many parts were sent (1: a single `PutObject`).
    pub parts: u64,
}

impl S3 {
    /// A client for `bucket` in `region`, at `endpoint` (path style) or AWS's regional
    /// endpoint, with credentials from `imds`; each request gives up after `timeout`, and
    /// files above `part_size` bytes (at least [`MIN_PART`]) go up in parts of that size.
    pub fn new(
        region: &str,
        bucket: &str,
        endpoint: Option<&str>,
        imds: Arc<Imds>,
        timeout: Duration,
        part_size: usize,
    ) -> Result<Self, AwsError> {
        let http = super::http_client("s3", timeout)?;
        Ok(Self {
            http,
            region: region.to_string(),
            bucket: bucket.to_string(),
            endpoint: endpoint.map(|e| e.trim_end_matches('/').to_string()),
            imds,
            credentials: CredentialCache::new(),
            part_size: part_size.max(MIN_PART),
        })
    }

    /// Uploads the regular file `path` as `key`, in one request or in parts; a failed
    /// multipart upload is aborted so that no part is left billed.
    pub async fn upload_file(&self, path: &Path, key: &str) -> Result<Uploaded, AwsError> {
        // Never through a symlink: the folder may belong to another user (jibri).
        let mut file = crate::fsutil::open_regular_nofollow(path).map_err(|e| local(path, &e))?;
        let bytes = file.metadata().map_err(|e| local(path, &e))?.len();
        if bytes <= self.part_size as u64 {
            let mut body = Vec::with_capacity(bytes as usize);
            file.read_to_end(&mut body).map_err(|e| local(path, &e))?;
            self.put_object(key, body).await?;
            return Ok(Uploaded {
                key: key.to_string(),
                bytes,
                parts: 1,
            });
        }
        let parts = bytes.div_ceil(self.part_size as u64);
        if parts > MAX_PARTS {
            return Err(AwsError::File {
                detail: format!(
                    "{} is {bytes} bytes: more than {MAX_PARTS} parts of {} bytes; raise recording.s3_part_mib",
                    path.display(),
                    self.part_size
                ),
            });
        }
        let id = self.create_multipart(key).await?;
        match self.send_parts(&mut file, path, key, &id, parts).await {
            Ok(done) => {
                self.complete_multipart(key, &id, &done).await?;
                Ok(Uploaded {
                    key: key.to_string(),
                    bytes,
                    parts,
                })
            }
            Err(e) => {
                if let Err(abort) = self.abort_multipart(key, &id).await {
                    tracing::warn!("s3: could not abort the upload of {key}: {abort}");
                }
                Err(e)
            }
        }
    }

    async fn put_object(&self, key: &str, body: Vec<u8>) -> Result<(), AwsError> {
        let checksum = sha256_base64(&body);
        let md5 = md5_base64(&body);
        let extra = [
            ("content-md5", md5.as_str()),
            ("x-amz-checksum-sha256", checksum.as_str()),
        ];
        let (status, _, text) = self.send("PutObject", "PUT", key, "", &extra, body).await?;
        expect_ok("PutObject", status, &text)
    }

    async fn create_multipart(&self, key: &str) -> Result<String, AwsError> {
        let extra = [("x-amz-checksum-algorithm", "SHA256")];
        let (status, _, text) = self
            .send(
                "CreateMultipartUpload",
                "POST",
                key,
                "uploads=",
                &extra,
                Vec::new(),
            )
            .await?;
        expect_ok("CreateMultipartUpload", status, &text)?;
        xml_text(&text, "UploadId").ok_or_else(|| answer("CreateMultipartUpload", "no UploadId"))
    }

    /// Sends parts 1..=`parts` of `file`; returns each part's ETag and checksum.
    async fn send_parts(
        &self,
        file: &mut std::fs::File,
        path: &Path,
        key: &str,
        id: &str,
        parts: u64,
    ) -> Result<Vec<(String, String)>, AwsError> {
        let mut done = Vec::new();
        for number in 1..=parts {
            let mut body = Vec::with_capacity(self.part_size);
            file.by_ref()
                .take(self.part_size as u64)
                .read_to_end(&mut body)
                .map_err(|e| local(path, &e))?;
            let checksum = sha256_base64(&body);
            let md5 = md5_base64(&body);
            let query = format!("partNumber={number}&uploadId={}", encode(id));
            let extra = [
                ("content-md5", md5.as_str()),
                ("x-amz-checksum-sha256", checksum.as_str()),
            ];
            let (status, etag, text) = self
                .send("UploadPart", "PUT", key, &query, &extra, body)
                .await?;
            expect_ok("UploadPart", status, &text)?;
            let etag = etag.ok_or_else(|| answer("UploadPart", "no ETag"))?;
            done.push((etag, checksum));
        }
        Ok(done)
    }

    async fn complete_multipart(
        &self,
        key: &str,
        id: &str,
        done: &[(String, String)],
    ) -> Result<(), AwsError> {
        let mut xml = String::from("<CompleteMultipartUpload>");
        for (i, (etag, checksum)) in done.iter().enumerate() {
            xml.push_str(&format!(
                "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag><ChecksumSHA256>{checksum}</ChecksumSHA256></Part>",
                i + 1,
                xml_escape(etag)
            ));
        }
        xml.push_str("</CompleteMultipartUpload>");
        let query = format!("uploadId={}", encode(id));
        let (status, _, text) = self
            .send(
                "CompleteMultipartUpload",
                "POST",
                key,
                &query,
                &[],
                xml.into_bytes(),
            )
            .await?;
        // S3 may answer 200 with an <Error> body when completion fails late.
        if text.contains("<Error>") {
            return expect_ok("CompleteMultipartUpload", 500, &text);
        }
        expect_ok("CompleteMultipartUpload", status, &text)
    }

    async fn abort_multipart(&self, key: &str, id: &str) -> Result<(), AwsError> {
        let query = format!("uploadId={}", encode(id));
        let (status, _, text) = self
            .send(
                "AbortMultipartUpload",
                "DELETE",
                key,
                &query,
                &[],
                Vec::new(),
            )
            .await?;
        expect_ok("AbortMultipartUpload", status, &text)
    }

    /// The object URL of `key` (path or virtual-hosted style) with `query`.
    fn url(&self, key: &str, query: &str) -> String {
        let key = key.split('/').map(encode).collect::<Vec<_>>().join("/");
        let base = match &self.endpoint {
            Some(endpoint) => format!("{endpoint}/{}/{key}", self.bucket),
            None => format!(
                "https://{}.s3.{}.amazonaws.com/{key}",
                self.bucket, self.region
            ),
        };
        if query.is_empty() {
            base
        } else {
            format!("{base}?{query}")
        }
    }

    /// Signs and sends one request; returns the status, the ETag header and the body.
    async fn send(
        &self,
        action: &'static str,
        method: &'static str,
        key: &str,
        query: &str,
        extra: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<(u16, Option<String>, String), AwsError> {
        let target = self.url(key, query);
        let signing = |detail: String| AwsError::Signing {
            service: "s3",
            action,
            detail,
        };
        let url = reqwest::Url::parse(&target)
            .map_err(|e| signing(format!("`{target}` is not a URL ({e})")))?;
        let host = host_header(&url).ok_or_else(|| signing(format!("`{target}` has no host")))?;
        let credentials = self.credentials.get(&self.imds).await?;
        let mut headers: Vec<(String, String)> = vec![("host".into(), host)];
        headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let unsigned = Unsigned {
            method,
            url: url.as_str(),
            headers: &headers,
            body: &body,
        };
        let added = sign_s3_request(&credentials, &self.region, SystemTime::now(), &unsigned)
            .map_err(signing)?;
        let method =
            reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| signing(e.to_string()))?;
        let mut request = self.http.request(method, url).body(body);
        for (k, v) in headers.iter().chain(added.iter()) {
            request = request.header(k.as_str(), v.as_str());
        }
        let transport = |detail: String| AwsError::Transport {
            service: "s3",
            action,
            endpoint: self.endpoint.clone().unwrap_or_else(|| "s3".into()),
            detail,
        };
        let response = request.send().await.map_err(|e| transport(one_line(&e)))?;
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            return Err(AwsError::Redirect {
                service: "s3",
                action,
                endpoint: self.endpoint.clone().unwrap_or_else(|| "s3".into()),
                status,
            });
        }
        let etag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = crate::http_body::read_capped(response, 1 << 20)
            .await
            .map_err(|e| transport(e.to_string()))?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if status == 400 && text.contains("ExpiredToken") {
            self.credentials.forget();
        }
        Ok((status, etag, text))
    }
}

/// The SHA-256 of `bytes`, base64 as S3's checksum headers carry it.
pub fn sha256_base64(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

/// The MD5 of `bytes`, base64 as `Content-MD5` carries it (RFC 1864).
pub fn md5_base64(bytes: &[u8]) -> String {
    use md5::Digest;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(bytes))
}

fn expect_ok(action: &'static str, status: u16, text: &str) -> Result<(), AwsError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    Err(AwsError::Api {
        service: "s3",
        action,
        status,
        code: xml_text(text, "Code").unwrap_or_default(),
        message: crate::printable::printable(&xml_text(text, "Message").unwrap_or_default(), 300),
    })
}

fn answer(action: &'static str, what: &str) -> AwsError {
    AwsError::Api {
        service: "s3",
        action,
        status: 200,
        code: "MalformedAnswer".into(),
        message: what.into(),
    }
}

fn local(path: &Path, e: &std::io::Error) -> AwsError {
    AwsError::File {
        detail: format!("cannot read {} for S3: {e}", path.display()),
    }
}

/// Percent-encodes everything but S3's unreserved characters.
fn encode(text: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(text, SET).to_string()
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The text between `<tag>` and `</tag>`, if any.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml[start..end].trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_encoded_per_segment_and_urls_follow_the_addressing() {
        crate::install_crypto_provider();
        let imds = Arc::new(Imds::new("http://127.0.0.1:9", Duration::from_secs(1)).unwrap());
        let s3 = S3::new(
            "eu-central-1",
            "rec",
            Some("http://127.0.0.1:5000/"),
            imds.clone(),
            Duration::from_secs(1),
            1,
        )
        .unwrap();
        assert_eq!(s3.part_size, MIN_PART);
        assert_eq!(
            s3.url("meet/room a/2026-12-04T10:00:00Z.mp4", "uploads="),
            "http://127.0.0.1:5000/rec/meet/room%20a/2026-12-04T10%3A00%3A00Z.mp4?uploads="
        );
        let aws = S3::new(
            "eu-central-1",
            "rec",
            None,
            imds,
            Duration::from_secs(1),
            MIN_PART,
        )
        .unwrap();
        assert_eq!(
            aws.url("k", ""),
            "https://rec.s3.eu-central-1.amazonaws.com/k"
        );
    }

    #[test]
    fn content_md5_is_base64_of_md5() {
        // MD5("abc") = 900150983cd24fb0d6963f7d28e17f72 (RFC 1321's test suite).
        assert_eq!(md5_base64(b"abc"), "kAFQmDzST7DWlj99KOF/cg==");
    }

    #[test]
    fn the_checksum_is_base64_of_sha256() {
        // SHA-256("abc"), as AWS's documentation and RFC 6234 give it.
        assert_eq!(
            sha256_base64(b"abc"),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
    }
}
