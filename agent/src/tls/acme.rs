//! ACME (RFC 8555) with instant-acme: account once per directory (key persisted 0600),
//! one order for our names, HTTP-01 answered by the agent's own listener.

use super::material::Pair;
use crate::fsutil::{read_optional, write_atomic};
use crate::paths::Paths;
use anyhow::{anyhow, bail, Context, Result};
use http_body_util::Full;
use hyper::body::Bytes;
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the tls step needs to talk to a CA.
#[derive(Debug, Clone)]
pub struct AcmeSettings {
    /// Directory URL.
    pub directory: String,
    /// Extra root to trust for the directory's TLS.
    pub ca_root: Option<PathBuf>,
    /// Where the HTTP-01 responder listens.
    pub http_listen: SocketAddr,
    /// How long an order may take.
    pub timeout: Duration,
    /// Account contact (`mailto:` is added).
    pub contact_email: Option<String>,
}

type Tokens = Arc<Mutex<HashMap<String, String>>>;

/// Attempts at a whole order when the CA keeps refusing nonces.
const NONCE_ATTEMPTS: u32 = 5;

/// Obtains a certificate and key for `names` from the CA.
///
/// instant-acme retries a refused nonce three times per request; a CA that refuses many
/// (RFC 8555 allows it at any time) can still fail one of the ten or so requests of an
/// order, so a whole order is retried on `badNonce`, with the saved account.
pub async fn obtain(paths: &Paths, acme: &AcmeSettings, names: &[String]) -> Result<Pair> {
    let attempts = async {
        let mut attempt = 1;
        loop {
            match order_once(paths, acme, names).await {
                Err(e) if attempt < NONCE_ATTEMPTS && format!("{e:#}").contains("badNonce") => {
                    tracing::debug!("ACME attempt {attempt} lost to a refused nonce; retrying");
                    attempt += 1;
                }
                result => return result,
            }
        }
    };
    tokio::time::timeout(acme.timeout, attempts)
        .await
        .map_err(|_| anyhow!("no certificate within {:?}", acme.timeout))?
        .with_context(|| format!("ACME with {}", acme.directory))
}

async fn order_once(paths: &Paths, acme: &AcmeSettings, names: &[String]) -> Result<Pair> {
    {
        let account = account(paths, acme).await?;
        let identifiers: Vec<Identifier> =
            names.iter().map(|n| Identifier::Dns(n.clone())).collect();
        let mut order = account
            .new_order(&NewOrder::new(&identifiers))
            .await
            .map_err(|e| anyhow!("the CA refused the order: {e}"))?;

        let tokens: Tokens = Arc::default();
        let responder = Responder::start(acme.http_listen, tokens.clone(), paths).await?;
        let mut authorizations = order.authorizations();
        while let Some(authz) = authorizations.next().await {
            let mut authz = authz.map_err(|e| anyhow!("reading an authorization failed: {e}"))?;
            match authz.status {
                AuthorizationStatus::Valid => continue,
                AuthorizationStatus::Pending => {}
                other => bail!("authorization for {:?} is {other:?}", authz.identifier()),
            }
            let mut challenge = authz
                .challenge(ChallengeType::Http01)
                .ok_or_else(|| anyhow!("the CA offers no http-01 challenge"))?;
            let key_auth = challenge.key_authorization().as_str().to_string();
            responder.publish(&tokens, &challenge.token, &key_auth)?;
            challenge
                .set_ready()
                .await
                .map_err(|e| anyhow!("the CA refused the challenge: {e}"))?;
        }
        let retry = RetryPolicy::new()
            .timeout(acme.timeout)
            .initial_delay(Duration::from_millis(100));
        let status = order
            .poll_ready(&retry)
            .await
            .map_err(|e| anyhow!("waiting for validation failed: {e}"))?;
        drop(responder);
        if status != OrderStatus::Ready {
            let detail = order
                .refresh()
                .await
                .ok()
                .and_then(|s| s.error.as_ref().map(|p| p.to_string()))
                .unwrap_or_else(|| format!("order is {status:?}"));
            bail!("validation failed: {detail}");
        }
        let key_pem = order
            .finalize()
            .await
            .map_err(|e| anyhow!("finalizing the order failed: {e}"))?;
        let chain_pem = order
            .poll_certificate(&retry)
            .await
            .map_err(|e| anyhow!("downloading the certificate failed: {e}"))?;
        Pair::from_pem(chain_pem.as_bytes(), key_pem.as_bytes()).context("the CA's certificate")
    }
}

/// The account for this directory: loaded from its credentials file, or created and saved.
async fn account(paths: &Paths, acme: &AcmeSettings) -> Result<Account> {
    let file = account_file(paths, &acme.directory);
    let builder = || match &acme.ca_root {
        Some(root) => Account::builder_with_root(root)
            .with_context(|| format!("cannot use {} as the CA's root", root.display())),
        None => Account::builder().context("cannot build the HTTPS client"),
    };
    if let Some(bytes) = read_optional(&file)? {
        let credentials: AccountCredentials =
            serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "{} is corrupt; remove it to register a new account",
                    file.display()
                )
            })?;
        return builder()?
            .from_credentials(credentials)
            .await
            .map_err(|e| anyhow!("the CA did not accept the saved account: {e}"));
    }
    let contact = acme.contact_email.as_ref().map(|e| format!("mailto:{e}"));
    let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
    let (account, credentials) = builder()?
        .create(
            &NewAccount {
                contact: &contacts,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            acme.directory.clone(),
            None,
        )
        .await
        .map_err(|e| anyhow!("the CA refused to register an account: {e}"))?;
    write_atomic(&file, &serde_json::to_vec(&credentials)?, 0o600)?;
    Ok(account)
}

/// One credentials file per directory, so switching CA (staging, production) never reuses a
/// key registered elsewhere.
fn account_file(paths: &Paths, directory: &str) -> PathBuf {
    let slug: String = directory
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    paths.join(&format!("/var/lib/meet-agent/acme/account-{slug}.json"))
}

/// Where a running nginx serves challenge files from (its site maps
/// `/.well-known/acme-challenge/` here).
pub const WEBROOT: &str = "/var/lib/meet-agent/acme-webroot";

/// The HTTP-01 responder: the agent's own listener when the port is free (first boot,
/// before nginx), else files in the webroot that the running nginx serves (renewals).
/// Stops, or removes its files, on drop.
enum Responder {
    Listener(tokio::task::JoinHandle<()>),
    Webroot(PathBuf, Mutex<Vec<PathBuf>>),
}

impl Responder {
    async fn start(addr: SocketAddr, tokens: Tokens, paths: &Paths) -> Result<Self> {
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => listener,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                let dir = paths.join(WEBROOT).join(".well-known/acme-challenge");
                tracing::info!(
                    "{addr} is in use (nginx runs); answering http-01 from {}",
                    dir.display()
                );
                return Ok(Self::Webroot(dir, Mutex::default()));
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot listen on {addr} for the http-01 challenge"))
            }
        };
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let tokens = tokens.clone();
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
        Ok(Self::Listener(task))
    }

    /// Makes `key_auth` the answer for `token`.
    fn publish(&self, tokens: &Tokens, token: &str, key_auth: &str) -> Result<()> {
        match self {
            Self::Listener(_) => {
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
        }
        Ok(())
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        match self {
            Self::Listener(task) => task.abort(),
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
