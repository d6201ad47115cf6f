//! The HTTPS client instant-acme talks through, wrapped to remember the CA's last
//! `Retry-After` on an error answer (instant-acme's errors carry only the problem
//! document), so a rate-limited order is retried when the CA says, not in a loop.

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
pub type RetryAfter = Arc<Mutex<Option<SystemTime>>>;

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
        let connector = builder.https_only().enable_http1().enable_http2().build();
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
            let response = BytesResponse::from(
                fut.await
                    .map_err(|e| instant_acme::Error::Other(Box::new(e)))?,
            );
            let status = response.parts.status;
            if status.is_client_error() || status.is_server_error() {
                if let Some(when) = response
                    .parts
                    .headers
                    .get(hyper::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_retry_after)
                {
                    if let Ok(mut s) = slot.lock() {
                        *s = Some(when);
                    }
                }
            }
            Ok(response)
        })
    }
}

/// `Retry-After: <seconds>` or an HTTP date (RFC 9110 10.2.3).
pub fn parse_retry_after(value: &str) -> Option<SystemTime> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(SystemTime::now() + Duration::from_secs(seconds));
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(value, format)
        .ok()
        .map(|t| SystemTime::from(t.assume_utc()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let soon = parse_retry_after("120").unwrap();
        let d = soon.duration_since(SystemTime::now()).unwrap();
        assert!(d > Duration::from_secs(110) && d <= Duration::from_secs(120));
        let date = parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(
            date.duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
            1_445_412_480
        );
        assert!(parse_retry_after("soon").is_none());
    }
}
