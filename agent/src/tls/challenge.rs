//! Answering ACME challenges: HTTP-01 by the agent's own listener when port 80 is free
//! (first boot, before nginx), else by files in the webroot the running nginx serves
//! (renewals); TLS-ALPN-01 (RFC 8737) by the agent's own TLS listener on port 443.

use crate::fsutil::write_atomic;
use crate::paths::Paths;
use anyhow::{anyhow, bail, Context, Result};
use http_body_util::Full;
use hyper::body::Bytes;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Where a running nginx serves challenge files from (its site maps
/// `/.well-known/acme-challenge/` here).
pub const WEBROOT: &str = "/var/lib/meet-agent/acme-webroot";

/// The ALPN protocol of TLS-ALPN-01.
const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

type Tokens = Arc<Mutex<HashMap<String, String>>>;

/// A running challenge responder. Stops, or removes its files, on drop.
pub enum Responder {
    /// HTTP-01 from the agent's own listener.
    Http(Tokens, tokio::task::JoinHandle<()>),
    /// HTTP-01 from files in nginx's webroot.
    Webroot(PathBuf, Mutex<Vec<PathBuf>>),
    /// TLS-ALPN-01 from the agent's own TLS listener.
    TlsAlpn(Arc<AlpnCertificates>, tokio::task::JoinHandle<()>),
}

impl Responder {
    /// HTTP-01: listens on `addr`, or uses the webroot when something (nginx) holds it.
    pub async fn http(addr: SocketAddr, paths: &Paths) -> Result<Self> {
        let listener = match bind(addr).await? {
            Some(listener) => listener,
            None => {
                let dir = paths.join(WEBROOT).join(".well-known/acme-challenge");
                tracing::info!(
                    "{addr} is in use (nginx runs); answering http-01 from {}",
                    dir.display()
                );
                return Ok(Self::Webroot(dir, Mutex::default()));
            }
        };
        let tokens: Tokens = Arc::default();
        let served = tokens.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let tokens = served.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |req: hyper::Request<hyper::body::Incoming>| {
                            let answer = req
                                .uri()
                                .path()
                                .strip_prefix("/.well-known/acme-challenge/")
                                .and_then(|token| tokens.lock().ok()?.get(token).cloned());
                            async move {
                                let (status, body) = match answer {
                                    Some(key_auth) => (200, key_auth),
                                    None => (404, String::new()),
                                };
                                hyper::Response::builder()
                                    .status(status)
                                    .header("Content-Type", "application/octet-stream")
                                    .body(Full::new(Bytes::from(body)))
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self::Http(tokens, task))
    }

    /// TLS-ALPN-01: listens on `addr`; `None` when the port is taken (nginx runs), so the
    /// caller can answer by HTTP-01 instead.
    pub async fn tls_alpn(addr: SocketAddr) -> Result<Option<Self>> {
        let Some(listener) = bind(addr).await? else {
            return Ok(None);
        };
        let certificates = Arc::new(AlpnCertificates::default());
        let mut config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_cert_resolver(certificates.clone());
        config.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                // The handshake is the whole answer; the validator closes afterwards.
                tokio::spawn(async move {
                    let _ = acceptor.accept(stream).await;
                });
            }
        });
        Ok(Some(Self::TlsAlpn(certificates, task)))
    }

    /// Whether this responder answers `tls-alpn-01` (else `http-01`).
    pub fn is_tls_alpn(&self) -> bool {
        matches!(self, Self::TlsAlpn(..))
    }

    /// Publishes the answer to one challenge. `identifier` is the DNS name or IP address
    /// being validated; `key_auth` the key authorization, `digest` its SHA-256.
    pub fn publish(
        &self,
        identifier: &str,
        token: &str,
        key_auth: &str,
        digest: &[u8],
    ) -> Result<()> {
        match self {
            Self::Http(tokens, _) => {
                tokens
                    .lock()
                    .map_err(|_| anyhow!("challenge table poisoned"))?
                    .insert(token.to_string(), key_auth.to_string());
            }
            Self::Webroot(dir, written) => {
                // Tokens are base64url: no path separators can sneak in.
                if !token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    bail!("the CA sent a challenge token that is not base64url");
                }
                let file = dir.join(token);
                write_atomic(&file, key_auth.as_bytes(), 0o644)?;
                written
                    .lock()
                    .map_err(|_| anyhow!("webroot list poisoned"))?
                    .push(file);
            }
            Self::TlsAlpn(certificates, _) => certificates.add(identifier, digest)?,
        }
        Ok(())
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        match self {
            Self::Http(_, task) | Self::TlsAlpn(_, task) => task.abort(),
            Self::Webroot(_, written) => {
                if let Ok(files) = written.get_mut() {
                    for file in files.iter() {
                        let _ = std::fs::remove_file(file);
                    }
                }
            }
        }
    }
}

/// Binds `addr`; `None` when the address is in use.
async fn bind(addr: SocketAddr) -> Result<Option<tokio::net::TcpListener>> {
    match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => Ok(Some(listener)),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot listen on {addr} for the ACME challenge")),
    }
}

/// The self-signed validation certificates of TLS-ALPN-01, one per identifier, chosen by
/// the SNI the validator sends (RFC 8737 3; RFC 8738 6 for IP addresses).
#[derive(Debug, Default)]
pub struct AlpnCertificates(Mutex<HashMap<String, Arc<CertifiedKey>>>);

impl AlpnCertificates {
    fn add(&self, identifier: &str, digest: &[u8]) -> Result<()> {
        let mut params = rcgen::CertificateParams::new(vec![identifier.to_string()])
            .context("validation certificate")?;
        params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
        let key = rcgen::KeyPair::generate().context("validation key")?;
        let cert = params.self_signed(&key).context("validation certificate")?;
        let der = rustls_pki_types::PrivateKeyDer::try_from(key.serialize_der())
            .map_err(|e| anyhow!("validation key: {e}"))?;
        let signer = rustls::crypto::ring::sign::any_supported_type(&der)
            .map_err(|e| anyhow!("validation key: {e}"))?;
        // CertifiedKey::new skips webpki's parsing, which rejects the critical
        // acmeIdentifier extension this certificate must carry.
        let certified = CertifiedKey::new(vec![cert.der().clone()], signer);
        self.0
            .lock()
            .map_err(|_| anyhow!("validation certificates poisoned"))?
            .insert(sni_name(identifier), Arc::new(certified));
        Ok(())
    }
}

impl ResolvesServerCert for AlpnCertificates {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if !hello.alpn()?.any(|p| p == ACME_TLS_ALPN) {
            return None;
        }
        let certificates = self.0.lock().ok()?;
        match hello.server_name() {
            Some(name) => certificates.get(&name.to_ascii_lowercase()).cloned(),
            // Without SNI only an unambiguous answer is possible.
            None if certificates.len() == 1 => certificates.values().next().cloned(),
            None => None,
        }
    }
}

/// The SNI a validator sends for an identifier: the name itself, or for an IP address its
/// reverse-DNS name (RFC 8738 6).
fn sni_name(identifier: &str) -> String {
    match identifier.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => {
            let o = ip.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        Ok(std::net::IpAddr::V6(ip)) => {
            let nibbles: Vec<String> = ip
                .octets()
                .iter()
                .rev()
                .flat_map(|b| [b & 0x0f, b >> 4])
                .map(|n| format!("{n:x}"))
                .collect();
            format!("{}.ip6.arpa", nibbles.join("."))
        }
        Err(_) => identifier.to_ascii_lowercase(),
    }
}
