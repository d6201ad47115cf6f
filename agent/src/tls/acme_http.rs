//! The HTTPS client instant-acme talks through, wrapped to remember the CA's last
//! `Retry-After` on an error answer (instant-acme's errors carry only the problem
//! document), so a rate-limited order is retried when the CA says, not in a loop. Every
//! `Retry-After` is held to [`MAX_WAIT`] here, before instant-acme adds it to the clock.

use super::time_limit::{self, Asked, MAX_WAIT};
use instant_acme::{BodyWrapper, BytesResponse, HttpClient};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

type Hyper = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    BodyWrapper<hyper::body::Bytes>,
>;

/// When the CA last asked us to come back, shared with whoever reads it after a failure.
pub type RetryAfter = Arc<Mutex<Option<Asked>>>;

/// An HTTPS client (platform roots, or one extra root) that records `Retry-After`.
pub struct RecordingClient {
    inner: Hyper,
    retry_after: RetryAfter,
}

impl RecordingClient {
    /// A client trusting the platform's roots, or only the certificates in `root` (a path
    /// or inline material, see [`crate::tls::material::read`]) when given.
    pub fn new(root: Option<&str>, retry_after: RetryAfter) -> anyhow::Result<Self> {
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let builder = match root {
            Some(value) => {
                use rustls_pki_types::pem::PemObject;
                let pem = crate::tls::material::read(value, "tls.acme.ca_root")?;
                let mut roots = rustls::RootCertStore::empty();
                for der in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
                    let der = der.map_err(|e| anyhow::anyhow!("tls.acme.ca_root: {e}"))?;
                    roots
                        .add(der)
                        .map_err(|e| anyhow::anyhow!("tls.acme.ca_root: {e}"))?;
                }
                if roots.is_empty() {
                    anyhow::bail!("tls.acme.ca_root holds no certificate");
                }
                builder.with_tls_config(
                    rustls::ClientConfig::builder()
                        .with_root_certificates(roots)
                        .with_no_client_auth(),
                )
            }
            None => builder
                .try_with_platform_verifier()
                .map_err(|e| anyhow::anyhow!("cannot load the system's CA roots: {e}"))?,
        };
        // Without TCP_NODELAY (hyper's connector leaves Nagle on) a request's second write
        // waited for the CA's delayed ACK: about 40 ms per request on loopback, a dozen
        // requests per certificate (bench/RESULTS-2026-12-05.md, sixth session).
        let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
        http.set_nodelay(true);
        http.enforce_http(false);
        let connector = builder
            .https_only()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let inner =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(connector);
        Ok(Self { inner, retry_after })
    }
}

impl HttpClient for RecordingClient {
    fn request(
        &self,
        req: hyper::Request<BodyWrapper<hyper::body::Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let fut = self.inner.request(req);
        let slot = self.retry_after.clone();
        Box::pin(async move {
            let mut response = BytesResponse::from(
                fut.await
                    .map_err(|e| instant_acme::Error::Other(Box::new(e)))?,
            );
            let asked = response
                .parts
                .headers
                .get(hyper::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            if let Some(asked) = asked {
                if asked.clamped {
                    // instant-acme adds the header's value to the clock itself (and
                    // panics past the year 9999): it sees the clamped value only.
                    response.parts.headers.insert(
                        hyper::header::RETRY_AFTER,
                        hyper::header::HeaderValue::from(MAX_WAIT.as_secs()),
                    );
                }
                let status = response.parts.status;
                if status.is_client_error() || status.is_server_error() {
                    if let Ok(mut s) = slot.lock() {
                        *s = Some(asked);
                    }
                }
            }
            Ok(response)
        })
    }
}

impl RecordingClient {
    /// A plain GET of `url` (no account, no signature), as ACME allows for the directory
    /// and for renewal information: the status, the clamped `Retry-After` and the body.
    pub async fn get(
        &self,
        url: &str,
    ) -> anyhow::Result<(hyper::StatusCode, Option<Asked>, hyper::body::Bytes)> {
        let request = hyper::Request::get(url)
            .header(hyper::header::USER_AGENT, "meet-agent")
            .body(BodyWrapper::default())
            .map_err(|e| anyhow::anyhow!("cannot request {url}: {e}"))?;
        let mut response = self
            .request(request)
            .await
            .map_err(|e| anyhow::anyhow!("cannot reach {url}: {e}"))?;
        let retry = response
            .parts
            .headers
            .get(hyper::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = response
            .body
            .into_bytes()
            .await
            .map_err(|e| anyhow::anyhow!("cannot read the answer of {url}: {e}"))?;
        Ok((response.parts.status, retry, body))
    }
}

/// `Retry-After: <seconds>` or an HTTP date (RFC 9110 10.2.3), held to [`MAX_WAIT`] from
/// now.
pub fn parse_retry_after(value: &str) -> Option<Asked> {
    let value = value.trim();
    let now = SystemTime::now();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(time_limit::after(now, Duration::from_secs(seconds)));
    }
    if value.bytes().all(|b| b.is_ascii_digit()) && !value.is_empty() {
        // More seconds than a u64 holds: as long as any.
        return Some(time_limit::after(now, Duration::MAX));
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(value, format)
        .ok()
        .map(|t| time_limit::until(now, SystemTime::from(t.assume_utc())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let soon = parse_retry_after("120").unwrap();
        assert!(!soon.clamped);
        let d = soon.at.duration_since(SystemTime::now()).unwrap();
        assert!(d > Duration::from_secs(110) && d <= Duration::from_secs(120));
        let date = parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(
            date.at
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
            1_445_412_480
        );
        assert!(parse_retry_after("soon").is_none());
    }

    #[test]
    fn huge_retry_after_values_are_held_to_the_maximum() {
        for value in [
            "300000000000",
            "18446744073709551615",
            "99999999999999999999999999",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            let asked = parse_retry_after(value).unwrap();
            assert!(asked.clamped, "{value}");
            let wait = asked.at.duration_since(SystemTime::now()).unwrap();
            assert!(
                wait <= MAX_WAIT && wait > MAX_WAIT.saturating_sub(Duration::from_secs(60)),
                "{value}"
            );
            // What the tls step records must convert without a panic.
            let _ = time::OffsetDateTime::from(asked.at);
        }
    }
}
