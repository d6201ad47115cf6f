//! ACME (RFC 8555) with instant-acme: account once per directory (key persisted 0600,
//! External Account Binding when the CA wants it), one order for our names (DNS names or
//! IP addresses), answered by HTTP-01 or TLS-ALPN-01, an optional staging dry run before
//! the first production order, and the CA's Retry-After kept for the retry timer.

use super::acme_http::{RecordingClient, RetryAfter};
use super::challenge::Responder;
use super::material::Pair;
use super::time_limit::{self, MAX_WAIT};
use crate::fsutil::{read_optional, write_atomic};
use crate::paths::Paths;
use anyhow::{anyhow, bail, Context, Result};
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, ExternalAccountKey,
    Identifier, NewAccount, NewOrder, OrderStatus, RetryPolicy,
};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// The `tls.acme.challenge` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChallengeChoice {
    /// A file over HTTP on port 80.
    #[serde(rename = "http-01")]
    Http01,
    /// A special certificate over TLS on port 443.
    #[serde(rename = "tls-alpn-01")]
    TlsAlpn01,
}

/// What the tls step needs to talk to a CA.
#[derive(Debug, Clone)]
pub struct AcmeSettings {
    /// Directory URL.
    pub directory: String,
    /// Root(s) to trust for the directory's TLS instead of the system's: an absolute path or
    /// inline PEM, base64 or gzip+base64.
    pub ca_root: Option<String>,
    /// Where the HTTP-01 responder listens.
    pub http_listen: SocketAddr,
    /// Where the TLS-ALPN-01 responder listens.
    pub tls_listen: SocketAddr,
    /// The challenge type to answer.
    pub challenge: ChallengeChoice,
    /// How long an order may take.
    pub timeout: Duration,
    /// Account contact (`mailto:` is added).
    pub contact_email: Option<String>,
    /// External Account Binding, for CAs that require it.
    pub eab: Option<Eab>,
    /// Staging directory for a dry run before the first production order.
    pub dry_run_directory: Option<String>,
}

/// External Account Binding credentials from the CA's web console.
#[derive(Clone)]
pub struct Eab {
    /// Key identifier.
    pub kid: String,
    /// The HMAC key, decoded; never printed.
    pub hmac_key: Vec<u8>,
}

impl fmt::Debug for Eab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Eab {{ kid: {:?}, hmac_key: <redacted> }}", self.kid)
    }
}

/// Why no certificate came, and when the CA said to come back (rate limits).
#[derive(Debug)]
pub struct Failure {
    /// What went wrong, in the CA's own words where it gave any (and, when the CA asked to
    /// wait longer than [`MAX_WAIT`], that it was held to it).
    pub message: String,
    /// Do not order again before this time (at most [`MAX_WAIT`] from now).
    pub retry_at: Option<SystemTime>,
}

/// The ACME problem type (RFC 8555 6.7) of a refused nonce.
pub const BAD_NONCE: &str = "urn:ietf:params:acme:error:badNonce";
/// The ACME problem type of a rate limit.
pub const RATE_LIMITED: &str = "urn:ietf:params:acme:error:rateLimited";

/// The problem type the CA answered with, anywhere in `e`'s chain, when it answered with a
/// problem document: what the agent branches on, never the error's text.
pub fn problem_type(e: &anyhow::Error) -> Option<&str> {
    e.chain()
        .find_map(|cause| match cause.downcast_ref::<instant_acme::Error>() {
            Some(instant_acme::Error::Api(problem)) => problem.r#type.as_deref(),
            _ => None,
        })
}

/// Attempts at a whole order when the CA keeps refusing nonces.
const NONCE_ATTEMPTS: u32 = 5;

/// Attempts at a whole order when a connection to the CA fails before a request reached
/// it (refused, reset or cut during the TLS handshake): such a request is safe to repeat.
const CONNECT_ATTEMPTS: u32 = 3;

/// Pause before repeating an order after a failed connection.
const CONNECT_BACKOFF: Duration = Duration::from_secs(2);

/// Whether `e` is a connection to the CA that failed before any request reached it.
pub fn connect_failed(e: &anyhow::Error) -> bool {
    e.chain()
        .any(|cause| match cause.downcast_ref::<instant_acme::Error>() {
            Some(instant_acme::Error::Other(inner)) => inner
                .downcast_ref::<hyper_util::client::legacy::Error>()
                .is_some_and(hyper_util::client::legacy::Error::is_connect),
            _ => false,
        })
}

/// How long to hold off after a rate-limit answer that names no time.
const RATE_LIMIT_BACKOFF: Duration = Duration::from_secs(3600);

/// Obtains a certificate and key for `names` (DNS names or IP addresses) from the CA.
/// Before the first order from a production CA (no account with it yet), the same order
/// runs at the staging CA when configured, so a broken setup never spends the
/// production rate limits.
pub async fn obtain(paths: &Paths, acme: &AcmeSettings, names: &[String]) -> Result<Pair, Failure> {
    if let Some(staging) = &acme.dry_run_directory {
        if !account_file(paths, &acme.directory).exists() {
            let dry = AcmeSettings {
                directory: staging.clone(),
                eab: None,
                dry_run_directory: None,
                ..acme.clone()
            };
            tracing::info!(
                "first order from {}: dry run at {staging} first",
                acme.directory
            );
            obtain_from(paths, &dry, names).await.map_err(|f| Failure {
                message: format!(
                    "staging dry run failed, so nothing was ordered from {}: {}",
                    acme.directory, f.message
                ),
                retry_at: f.retry_at,
            })?;
        }
    }
    obtain_from(paths, acme, names).await
}

/// One CA: the whole order, retried on `badNonce`.
///
/// instant-acme retries a refused nonce three times per request; a CA that refuses many
/// (RFC 8555 allows it at any time) can still fail one of the ten or so requests of an
/// order, so a whole order is retried on `badNonce`, with the saved account.
async fn obtain_from(
    paths: &Paths,
    acme: &AcmeSettings,
    names: &[String],
) -> Result<Pair, Failure> {
    let retry_after = RetryAfter::default();
    let attempts = async {
        let (mut nonce_attempt, mut connect_attempt) = (1, 1);
        loop {
            match order_once(paths, acme, names, &retry_after).await {
                Err(e) if nonce_attempt < NONCE_ATTEMPTS && problem_type(&e) == Some(BAD_NONCE) => {
                    tracing::debug!(
                        "ACME attempt {nonce_attempt} lost to a refused nonce; retrying"
                    );
                    nonce_attempt += 1;
                }
                Err(e) if connect_attempt < CONNECT_ATTEMPTS && connect_failed(&e) => {
                    tracing::info!(
                        "the connection to the CA failed ({e:#}); trying again in {CONNECT_BACKOFF:?}"
                    );
                    connect_attempt += 1;
                    tokio::time::sleep(CONNECT_BACKOFF).await;
                }
                result => return result,
            }
        }
    };
    let result = match tokio::time::timeout(acme.timeout, attempts).await {
        Ok(result) => result,
        Err(_) => Err(anyhow!("no certificate within {:?}", acme.timeout)),
    };
    result.map_err(|e| {
        let mut message = format!("ACME with {}: {e:#}", acme.directory);
        let recorded = retry_after.lock().ok().and_then(|s| *s);
        let rate_limited = problem_type(&e) == Some(RATE_LIMITED);
        let retry_at = match (recorded, rate_limited) {
            (Some(asked), _) => {
                if asked.clamped {
                    message.push_str(&format!(
                        " (the CA asked to wait longer than {} days; held to that maximum)",
                        MAX_WAIT.as_secs() / 86_400
                    ));
                }
                Some(asked.at)
            }
            (None, true) => Some(time_limit::after(SystemTime::now(), RATE_LIMIT_BACKOFF).at),
            (None, false) => None,
        };
        Failure { message, retry_at }
    })
}

fn identifiers(names: &[String]) -> Vec<Identifier> {
    names
        .iter()
        .map(|n| match n.parse() {
            Ok(ip) => Identifier::Ip(ip),
            Err(_) => Identifier::Dns(n.clone()),
        })
        .collect()
}

/// What answers the CA's challenges: TLS-ALPN-01 on the TLS port when asked for and free
/// (nginx not running), else HTTP-01.
async fn responder(paths: &Paths, acme: &AcmeSettings) -> Result<Responder> {
    Ok(match acme.challenge {
        ChallengeChoice::TlsAlpn01 => match Responder::tls_alpn(acme.tls_listen).await? {
            Some(r) => r,
            None => {
                tracing::info!(
                    "{} is in use (nginx runs); answering http-01 instead of tls-alpn-01",
                    acme.tls_listen
                );
                Responder::http(acme.http_listen, paths).await?
            }
        },
        ChallengeChoice::Http01 => Responder::http(acme.http_listen, paths).await?,
    })
}

async fn order_once(
    paths: &Paths,
    acme: &AcmeSettings,
    names: &[String],
    retry_after: &RetryAfter,
) -> Result<Pair> {
    let account = account(paths, acme, retry_after).await?;
    let mut order = account
        .new_order(&NewOrder::new(&identifiers(names)))
        .await
        .context("the CA refused the order")?;

    let responder = responder(paths, acme).await?;
    let wanted = if responder.is_tls_alpn() {
        ChallengeType::TlsAlpn01
    } else {
        ChallengeType::Http01
    };
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz.context("reading an authorization failed")?;
        match authz.status {
            AuthorizationStatus::Valid => continue,
            AuthorizationStatus::Pending => {}
            other => bail!("authorization for {:?} is {other:?}", authz.identifier()),
        }
        let identifier = match &authz.identifier().identifier {
            Identifier::Dns(name) => name.clone(),
            Identifier::Ip(ip) => ip.to_string(),
            other => bail!("the CA asks to validate {other:?}, which this agent cannot"),
        };
        let mut challenge = authz
            .challenge(wanted.clone())
            .ok_or_else(|| anyhow!("the CA offers no {wanted:?} challenge for {identifier}"))?;
        let key_auth = challenge.key_authorization();
        responder.publish(
            &identifier,
            &challenge.token,
            key_auth.as_str(),
            key_auth.digest().as_ref(),
        )?;
        challenge
            .set_ready()
            .await
            .context("the CA refused the challenge")?;
    }
    // Validation takes from milliseconds (a local CA) to a few seconds: polls from 25 ms
    // growing by half notice it soon after without hammering the CA (doubling overshot
    // by up to a second): three more requests in the first second than from 100 ms,
    // which cost a local CA's certificate two waits of about 75 ms on the host; a
    // Retry-After from the CA takes precedence (instant-acme honours it).
    let retry = RetryPolicy::new()
        .timeout(acme.timeout)
        .initial_delay(Duration::from_millis(25))
        .backoff(1.5);
    let status = order
        .poll_ready(&retry)
        .await
        .context("waiting for validation failed")?;
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
        .context("finalizing the order failed")?;
    // A CA that issues at once answers the finalize with the order valid: fetch the
    // certificate now instead of after the first poll's wait. Otherwise (processing, or
    // still ready) poll, which also honours the CA's Retry-After.
    let chain_pem = if order.state().status == OrderStatus::Valid {
        order
            .certificate()
            .await
            .context("downloading the certificate failed")?
    } else {
        None
    };
    let chain_pem = match chain_pem {
        Some(chain) => chain,
        None => order
            .poll_certificate(&retry)
            .await
            .context("downloading the certificate failed")?,
    };
    Pair::from_pem(chain_pem.as_bytes(), key_pem.as_bytes()).context("the CA's certificate")
}

/// The account for this directory: loaded from its credentials file, or created (with
/// External Account Binding when configured) and saved.
pub async fn account(
    paths: &Paths,
    acme: &AcmeSettings,
    retry_after: &RetryAfter,
) -> Result<Account> {
    let file = account_file(paths, &acme.directory);
    let builder = || -> Result<_> {
        let client = RecordingClient::new(acme.ca_root.as_deref(), retry_after.clone())?;
        Ok(Account::builder_with_http(Box::new(client)))
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
            .context("the CA did not accept the saved account");
    }
    let contact = acme.contact_email.as_ref().map(|e| format!("mailto:{e}"));
    let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
    let eab = acme
        .eab
        .as_ref()
        .map(|e| ExternalAccountKey::new(e.kid.clone(), &e.hmac_key));
    let (account, credentials) = builder()?
        .create(
            &NewAccount {
                contact: &contacts,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            acme.directory.clone(),
            eab.as_ref(),
        )
        .await
        .context("the CA refused to register an account")?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(kind: &str, detail: &str) -> instant_acme::Error {
        let json = serde_json::json!({"type": kind, "detail": detail, "status": 400});
        match serde_json::from_value::<instant_acme::Problem>(json) {
            Ok(p) => instant_acme::Error::Api(p),
            Err(e) => panic!("not a problem document: {e}"),
        }
    }

    #[test]
    fn branches_on_the_problem_type_not_on_words() {
        // The CA's words need not name the type (Let's Encrypt's rate-limit details do not).
        let limited = Err::<(), _>(problem(RATE_LIMITED, "too many certificates"))
            .context("the CA refused the order")
            .unwrap_err();
        assert_eq!(problem_type(&limited), Some(RATE_LIMITED));
        let nonce = anyhow::Error::new(problem(BAD_NONCE, "JWS has an invalid anti-replay nonce"));
        assert_eq!(problem_type(&nonce), Some(BAD_NONCE));
        // Words alone are no problem type: a detail quoting one is not retried as one.
        let quoted = anyhow!("validation failed: the page said badNonce and rateLimited");
        assert_eq!(problem_type(&quoted), None);
        let other =
            anyhow::Error::new(problem("urn:ietf:params:acme:error:malformed", "badNonce?"));
        assert_eq!(
            problem_type(&other),
            Some("urn:ietf:params:acme:error:malformed")
        );
    }
}
