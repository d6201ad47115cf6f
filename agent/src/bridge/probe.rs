//! On a videobridge, `meet-agent status` checks what jitsi-videobridge2 will meet when it
//! logs in to its signaling node, so that a bridge that does not join says why: nothing
//! answers on the XMPP port (a firewall, `bridges.allow_cidrs`), something answers without
//! STARTTLS, or prosody presents a certificate the join token does not vouch for.
//!
//! The probe does what the bridge's XMPP client (Smack, through jicoco's MUC client) does
//! up to the TLS handshake, and stops there (it never logs in, so it needs no password):
//! RFC 6120's client-to-server STARTTLS — a stream header to the XMPP domain
//! `auth.DOMAIN`, the server's `<stream:features/>` offering
//! `<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`, `<starttls/>`, `<proceed/>` —
//! then a TLS handshake that trusts only the token's certificate (or CA) and verifies the
//! name `auth.DOMAIN`, as the bridge does with the token's certificate in its trust store
//! (see `jitsi/videobridge.rs`: `DOMAIN` is `auth.DOMAIN` and certificate verification is
//! on).
//!
//! What it probes is read from what `run` rendered for the bridge (jvb.conf's `HOSTNAME`,
//! `PORT` and `DOMAIN`, and the token's certificate installed as a trust anchor by
//! [`super::trust`]), so it checks exactly what the bridge is told, and status needs
//! neither the token nor the instance source.

use crate::paths::Paths;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use serde::Serialize;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long the whole probe may take: status answers within a few seconds even when a
/// firewall drops the packets.
pub const TIMEOUT: Duration = Duration::from_secs(4);
/// How much of the server's XMPP text is read before the probe gives up on it: stream
/// features are a few hundred bytes.
const MAX_XMPP_BYTES: usize = 64 * 1024;
/// The namespace of STARTTLS (RFC 6120, section 5.4).
const TLS_NS: &str = "urn:ietf:params:xml:ns:xmpp-tls";

/// What to probe: the signaling node as the bridge's jvb.conf names it, and what the bridge
/// trusts for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or address the bridge connects to.
    pub host: String,
    /// The XMPP client port there.
    pub port: u16,
    /// The XMPP domain the bridge logs in to and verifies (`auth.DOMAIN`).
    pub xmpp_domain: String,
    /// The PEM certificate(s) of the join token: the only trust anchors.
    pub trusted_pem: String,
}

/// The outcome, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The node presents a certificate the token vouches for.
    CertificateMatches,
    /// The node presents a certificate the token does not vouch for.
    CertificateMismatch,
    /// No TCP connection (refused, timed out, no route, name not found).
    Unreachable,
    /// Connected, but the server did not offer or grant STARTTLS.
    NoStarttls,
    /// STARTTLS granted, then the TLS handshake failed for another reason than the
    /// certificate.
    TlsFailed,
    /// What to probe could not be read from the rendered files.
    Unknown,
}

/// A certificate the signaling node presented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Presented {
    /// Its DNS names (subjectAltName, else the common name): the first five, then
    /// `and N more`; control characters shown as `?` ([`crate::printable`]).
    pub names: Vec<String>,
    /// SHA-256 of its DER, as `openssl x509 -fingerprint -sha256` prints it.
    pub sha256: String,
}

/// What the probe found (`deployment.signaling` in status's JSON).
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    /// The host probed (jvb.conf's `HOSTNAME`).
    pub host: Option<String>,
    /// The port probed (jvb.conf's `PORT`).
    pub port: Option<u16>,
    /// The XMPP domain asked for and verified (jvb.conf's `DOMAIN`).
    pub xmpp_domain: Option<String>,
    /// The outcome's kind.
    pub result: Outcome,
    /// The certificate the node presented, when the handshake got that far.
    pub presented: Option<Presented>,
    /// SHA-256 of each certificate in the join token (the bridge's trust anchors).
    pub trusted_sha256: Vec<String>,
    /// One sentence: what, where, and what to do when it is not a match.
    pub message: String,
}

impl Probe {
    /// Whether the bridge will accept the node's certificate.
    pub fn ok(&self) -> bool {
        self.result == Outcome::CertificateMatches
    }

    /// A probe that could not start: `message` says why.
    pub fn unknown(message: String) -> Probe {
        Probe {
            host: None,
            port: None,
            xmpp_domain: None,
            result: Outcome::Unknown,
            presented: None,
            trusted_sha256: Vec::new(),
            message,
        }
    }
}

/// `sha256` of `der` as colon-separated upper-case hex pairs (openssl's form, so that an
/// operator can compare it with `openssl x509 -noout -fingerprint -sha256` on the node).
pub fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// What the other end sends is shown through the agent's one terminal filter.
pub use crate::printable::printable;

/// At most this many of a presented certificate's names are shown.
const NAMES_SHOWN: usize = 5;

/// Reads (host, port, XMPP domain) of the signaling node from a joining machine's
/// rendered file.
pub type AccountIn = fn(&str) -> Option<(String, u16, String)>;

/// What to probe, from the joining machine's rendered file `file` (a bridge's jvb.conf
/// with [`bridge_account`], a recorder's jibri.conf with [`recorder_account`], a SIP
/// gateway's jigasi properties) read by `account`, and the installed trust anchor.
pub fn target(paths: &Paths, file: &str, account: AccountIn) -> Result<Target, String> {
    let conf_path = paths.join(file);
    let conf = std::fs::read_to_string(&conf_path).map_err(|e| {
        format!(
            "cannot read {} ({e}); run `meet-agent run`",
            conf_path.display()
        )
    })?;
    let account = account(&conf);
    let (host, port, xmpp_domain) = account.ok_or_else(|| {
        format!(
            "{} names no remote signaling node (HOSTNAME, PORT, DOMAIN); run `meet-agent run`",
            conf_path.display()
        )
    })?;
    let dir = paths.join(super::trust::ANCHORS);
    let mut anchors: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(super::trust::PREFIX) && n.ends_with(".crt"))
                })
                .collect()
        })
        .unwrap_or_default();
    anchors.sort();
    let anchor = anchors.first().ok_or_else(|| {
        format!(
            "no signaling certificate is trusted in {} (the join token's); run `meet-agent run`",
            dir.display()
        )
    })?;
    let trusted_pem = std::fs::read_to_string(anchor)
        .map_err(|e| format!("cannot read {} ({e})", anchor.display()))?;
    Ok(Target {
        host,
        port,
        xmpp_domain,
        trusted_pem,
    })
}

/// `HOSTNAME`, `PORT` and `DOMAIN` of a jvb.conf as `jitsi/videobridge.rs` renders it for a
/// remote signaling node (one key per line, strings quoted as JSON); `None` for the local
/// form (no `PORT`).
pub fn bridge_account(conf: &str) -> Option<(String, u16, String)> {
    let value = |key: &str| {
        conf.lines().find_map(|line| {
            let rest = line.trim().strip_prefix(key)?.trim_start();
            rest.strip_prefix('=').map(|v| v.trim().to_string())
        })
    };
    let string = |key: &str| value(key).and_then(|v| serde_json::from_str::<String>(&v).ok());
    let host = string("HOSTNAME")?;
    let port = value("PORT")?.parse().ok()?;
    let domain = string("DOMAIN")?;
    Some((host, port, domain))
}

/// The signaling node and control login of a jibri.conf as `jitsi/jibri.rs` renders it:
/// the first `xmpp-server-hosts`, and the `port` and `domain` of `control-login` (the
/// first lines of those names; `xmpp-domain` is a line of its own name).
pub fn recorder_account(conf: &str) -> Option<(String, u16, String)> {
    let value = |key: &str| {
        conf.lines().find_map(|line| {
            let rest = line.trim().strip_prefix(key)?.trim_start();
            rest.strip_prefix('=').map(|v| v.trim().to_string())
        })
    };
    let hosts = value("xmpp-server-hosts")?;
    let first = hosts.trim_start_matches('[').trim_end_matches(']').trim();
    let first = first.split(',').next()?.trim();
    let host = serde_json::from_str::<String>(first).ok()?;
    let port = value("port")?.parse().ok()?;
    let domain = serde_json::from_str::<String>(&value("domain")?).ok()?;
    Some((host, port, domain))
}

/// What the server said after the stream header.
#[derive(Debug, PartialEq, Eq)]
enum Features {
    /// `<stream:features/>` with `<starttls/>` of [`TLS_NS`].
    StartTls,
    /// Stream features without STARTTLS.
    NoStartTls,
    /// A stream error, by its condition (`host-unknown`, ...).
    StreamError(String),
    /// Not XML: not an XMPP server.
    NotXmpp,
}

/// What the server said to `<starttls/>`.
#[derive(Debug, PartialEq, Eq)]
enum StartTlsReply {
    /// `<proceed/>`: TLS starts.
    Proceed,
    /// `<failure/>`: the server will not start TLS.
    Failure,
    /// A stream error, by its condition.
    StreamError(String),
}

/// The prefix the server's stream header binds to `http://etherx.jabber.org/streams`
/// (`stream` from every server we know; RFC 6120 lets it choose).
fn stream_prefix(buf: &str) -> &str {
    let mut rest = buf;
    while let Some(i) = rest.find(":stream") {
        let before = &rest[..i];
        if let Some(lt) = before.rfind('<') {
            let name = &before[lt + 1..];
            let after = rest[i + ":stream".len()..].chars().next();
            if !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && after.is_some_and(|c| c.is_whitespace() || c == '>')
            {
                return name;
            }
        }
        rest = &rest[i + 1..];
    }
    "stream"
}

/// The condition of a complete `<stream:error>` in `buf`, if there is one.
fn stream_error(buf: &str, prefix: &str) -> Option<String> {
    let open = format!("<{prefix}:error");
    let start = buf.find(&open)?;
    let body = &buf[start + open.len()..];
    let close = format!("</{prefix}:error>");
    let end = body.find(&close)?;
    let body = &body[..end];
    // The first child element is the condition (RFC 6120, section 4.9.3).
    let condition = body
        .split('<')
        .skip(1)
        .map(|el| {
            el.split(|c: char| c.is_whitespace() || c == '/' || c == '>')
                .next()
                .unwrap_or("")
        })
        .find(|name| !name.is_empty())
        .unwrap_or("unknown");
    Some(printable(condition, 60))
}

/// Reads the server's answer to the stream header; `None` while it is incomplete.
fn features(buf: &str) -> Option<Features> {
    let trimmed = buf.trim_start();
    if !trimmed.is_empty() && !trimmed.starts_with('<') {
        return Some(Features::NotXmpp);
    }
    let prefix = stream_prefix(buf);
    if let Some(condition) = stream_error(buf, prefix) {
        return Some(Features::StreamError(condition));
    }
    let open = format!("<{prefix}:features");
    let start = buf.find(&open)?;
    let element = &buf[start + open.len()..];
    let inner = if element.trim_start().starts_with("/>") {
        ""
    } else {
        let close = format!("</{prefix}:features>");
        &element[..element.find(&close)?]
    };
    let offered = inner.match_indices("<starttls").any(|(i, _)| {
        inner[i..]
            .split('>')
            .next()
            .is_some_and(|t| t.contains(TLS_NS))
    });
    Some(if offered {
        Features::StartTls
    } else {
        Features::NoStartTls
    })
}

/// Reads the server's answer to `<starttls/>`; `None` while it is incomplete.
fn starttls_reply(buf: &str, prefix: &str) -> Option<StartTlsReply> {
    if let Some(condition) = stream_error(buf, prefix) {
        return Some(StartTlsReply::StreamError(condition));
    }
    if buf.contains("<proceed") {
        Some(StartTlsReply::Proceed)
    } else if buf.contains("<failure") {
        Some(StartTlsReply::Failure)
    } else {
        None
    }
}

/// Records the certificate the server presented and what verifying it said, and otherwise
/// verifies as webpki does with the token's certificates as the only roots.
#[derive(Debug)]
struct Recording {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    seen: Mutex<Option<Seen>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let result = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some((
                end_entity.clone().into_owned(),
                result.as_ref().err().cloned(),
            ));
        }
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// How far [`handshake`] got: connecting, the XMPP exchange before TLS, the TLS handshake.
const PHASE_CONNECTING: u8 = 0;
const PHASE_XMPP: u8 = 1;
const PHASE_TLS: u8 = 2;

/// Reads allowed before TLS (see [`read_more`]).
const MAX_XMPP_READS: u32 = 256;

/// Why the probe stopped short of a verified handshake.
enum Stop {
    Unreachable(String),
    NoStartTls(String),
    Tls(String),
}

/// Probes `target` within `timeout`; never fails (the outcome says what happened).
pub async fn probe(target: &Target, timeout: Duration) -> Probe {
    let trusted: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(target.trusted_pem.as_bytes())
            .flatten()
            .collect();
    let trusted_sha256: Vec<String> = trusted.iter().map(|c| fingerprint(c)).collect();
    let mut out = Probe {
        host: Some(target.host.clone()),
        port: Some(target.port),
        xmpp_domain: Some(target.xmpp_domain.clone()),
        result: Outcome::Unknown,
        presented: None,
        trusted_sha256,
        message: String::new(),
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in trusted {
        // A certificate webpki cannot use as an anchor leaves the store short; the
        // handshake then reports the certificate as untrusted, which is what the bridge
        // would meet too.
        let _ = roots.add(cert);
    }
    let verifier = match rustls::client::WebPkiServerVerifier::builder(Arc::new(roots)).build() {
        Ok(v) => Arc::new(Recording {
            inner: v,
            seen: Mutex::new(None),
        }),
        Err(e) => {
            out.message = format!(
                "the join token's certificate cannot serve as a trust anchor ({e}); make a new token on the signaling node (`meet-agent bridge token`) and set it as bridge.join here"
            );
            return out;
        }
    };
    let stopped = bounded_handshake(target, verifier.clone(), timeout).await;
    let seen = verifier.seen.lock().ok().and_then(|mut s| s.take());
    let presented = presented(seen.as_ref());
    verdict(
        &mut out,
        target,
        &stopped,
        seen.as_ref(),
        presented.as_ref(),
    );
    out.presented = presented;
    out
}

/// The certificate the verifier was shown, and why it refused it (if it did).
type Seen = (CertificateDer<'static>, Option<rustls::Error>);

/// The handshake within `timeout`; running out of time names the stage that stalled.
async fn bounded_handshake(
    target: &Target,
    verifier: Arc<Recording>,
    timeout: Duration,
) -> Result<(), Stop> {
    // The connection gets most of the time, so that a dropping firewall is told apart from
    // a server that connects and then stalls.
    let connect_timeout = timeout.mul_f32(0.75);
    // How far the exchange got, so that running out of time names the stage that stalled.
    let phase = AtomicU8::new(PHASE_CONNECTING);
    match tokio::time::timeout(
        timeout,
        handshake(target, verifier, connect_timeout, &phase),
    )
    .await
    {
        Ok(r) => r,
        Err(_) => Err(match phase.load(Ordering::Relaxed) {
            PHASE_TLS => Stop::Tls(format!("it did not finish within {} s", timeout.as_secs())),
            _ => Stop::NoStartTls(format!(
                "it did not get through STARTTLS within {} s",
                timeout.as_secs()
            )),
        }),
    }
}

/// What the signaling node presented: its names (shown safely, at most a few) and digest.
fn presented(seen: Option<&Seen>) -> Option<Presented> {
    seen.map(|(der, _)| {
        let all = crate::tls::inspect::parse(der)
            .map(|c| crate::tls::inspect::names(&c))
            .unwrap_or_default();
        let mut names: Vec<String> = all
            .iter()
            .take(NAMES_SHOWN)
            .map(|n| printable(n, 253))
            .collect();
        if all.len() > NAMES_SHOWN {
            names.push(format!("and {} more", all.len() - NAMES_SHOWN));
        }
        Presented {
            names,
            sha256: fingerprint(der),
        }
    })
}

/// The outcome and the sentence that says what to do.
fn verdict(
    out: &mut Probe,
    target: &Target,
    stopped: &Result<(), Stop>,
    seen: Option<&Seen>,
    presented: Option<&Presented>,
) {
    let at = format!("the signaling node at {}:{}", target.host, target.port);
    let describe = |p: &Presented| {
        format!(
            "a certificate for {} (sha256 {})",
            if p.names.is_empty() {
                "no DNS name".to_string()
            } else {
                p.names.join(", ")
            },
            p.sha256
        )
    };
    let token_side = match out.trusted_sha256.as_slice() {
        [one] => format!("the token's certificate is sha256 {one}"),
        many => format!("the token's certificates are sha256 {}", many.join(", ")),
    };
    match (stopped, seen, presented) {
        (Ok(()), _, Some(p)) => {
            out.result = Outcome::CertificateMatches;
            out.message = format!(
                "{at} presents {} that the join token vouches for, valid for {}",
                describe(p),
                target.xmpp_domain
            );
        }
        (_, Some((_, Some(error))), Some(p)) => {
            out.result = Outcome::CertificateMismatch;
            out.message = format!(
                "{at} presents {} that the join token does not vouch for ({}; {token_side}): make a new token on the signaling node (`meet-agent bridge token`) and set it as bridge.join here, or point bridge.signaling_host at the signaling node this token came from",
                describe(p),
                why_refused(error, &target.xmpp_domain)
            );
        }
        (Ok(()), _, None) => {
            // rustls always verifies the server's certificate; kept apart to stay honest.
            out.result = Outcome::TlsFailed;
            out.message = format!("{at}: TLS completed without a certificate being checked");
        }
        (Err(Stop::Unreachable(why)), _, _) => {
            out.result = Outcome::Unreachable;
            out.message = format!(
                "{at} is unreachable ({why}): let this machine's address reach TCP {} there (bridges.allow_cidrs on the signaling node, and any cloud firewall or security group), and check that prosody runs there",
                target.port
            );
        }
        (Err(Stop::NoStartTls(why)), _, _) => {
            out.result = Outcome::NoStarttls;
            out.message = format!(
                "{at} answers but offers no STARTTLS for {} ({why}): check that the token's host is this deployment's signaling node (server.role = \"signaling\") and that its prosody is running",
                target.xmpp_domain
            );
        }
        (Err(Stop::Tls(why)), _, _) => {
            out.result = Outcome::TlsFailed;
            out.message = format!(
                "{at} granted STARTTLS but the TLS handshake failed ({why}); see prosody's log on the signaling node"
            );
        }
    }
}

/// Why webpki refused the presented certificate, in words.
fn why_refused(error: &rustls::Error, xmpp_domain: &str) -> String {
    match error {
        rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer | CertificateError::BadSignature,
        ) => "it is neither the token's certificate nor issued by it".into(),
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => format!("it does not name {xmpp_domain}"),
        rustls::Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => "it has expired".into(),
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. },
        ) => "it is not valid yet (check both machines' clocks)".into(),
        other => other.to_string(),
    }
}

/// Connects, negotiates STARTTLS and completes the TLS handshake.
async fn handshake(
    target: &Target,
    verifier: Arc<Recording>,
    connect_timeout: Duration,
    phase: &AtomicU8,
) -> Result<(), Stop> {
    let mut tcp = connect(target, connect_timeout).await?;
    phase.store(PHASE_XMPP, Ordering::Relaxed);
    starttls(target, &mut tcp).await?;
    phase.store(PHASE_TLS, Ordering::Relaxed);
    let config = rustls::ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    let name = ServerName::try_from(target.xmpp_domain.clone())
        .map_err(|e| Stop::Tls(format!("{} is not a server name: {e}", target.xmpp_domain)))?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map(|_| ())
        .map_err(|e| Stop::Tls(e.to_string()))
}

/// Resolves and connects within `connect_timeout`, saying which of the two ran out.
async fn connect(
    target: &Target,
    connect_timeout: Duration,
) -> Result<tokio::net::TcpStream, Stop> {
    // Resolving and connecting share the bound; `resolved` tells which of them ran out.
    let mut resolved = false;
    let connecting = async {
        let addresses = resolve(&target.host, target.port).await?;
        resolved = true;
        tokio::net::TcpStream::connect(addresses.as_slice())
            .await
            .map_err(|e| {
                Stop::Unreachable(match e.kind() {
                    std::io::ErrorKind::ConnectionRefused => {
                        "connection refused: nothing listens there, or a firewall rejects it".into()
                    }
                    _ => e.to_string(),
                })
            })
    };
    let outcome = tokio::time::timeout(connect_timeout, connecting).await;
    match outcome {
        Ok(result) => result,
        Err(_) if !resolved => Err(Stop::Unreachable(format!(
            "{} did not resolve within {} s",
            target.host,
            connect_timeout.as_secs_f32()
        ))),
        Err(_) => Err(Stop::Unreachable(format!(
            "no answer within {} s: a firewall drops this machine's packets, \
             or the host is down",
            connect_timeout.as_secs_f32()
        ))),
    }
}

/// Opens the XMPP stream and asks for STARTTLS; `Ok` once the server said proceed.
async fn starttls(target: &Target, tcp: &mut tokio::net::TcpStream) -> Result<(), Stop> {
    let mut reads = 0u32;
    let header = format!(
        "<?xml version='1.0'?><stream:stream to='{}' version='1.0' xml:lang='en' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
        target.xmpp_domain
    );
    let io = |e: std::io::Error| Stop::NoStartTls(format!("the connection failed: {e}"));
    tcp.write_all(header.as_bytes()).await.map_err(io)?;
    let mut buf = Vec::new();
    let offered = loop {
        let text = String::from_utf8_lossy(&buf);
        if let Some(f) = features(&text) {
            break f;
        }
        read_more(tcp, &mut buf, &mut reads, "stream features").await?;
    };
    match offered {
        Features::StartTls => {}
        Features::NoStartTls => {
            return Err(Stop::NoStartTls(
                "its stream features have no <starttls/>".into(),
            ))
        }
        Features::StreamError(c) => {
            return Err(Stop::NoStartTls(format!(
                "it ended the stream with the error {c}"
            )))
        }
        Features::NotXmpp => {
            return Err(Stop::NoStartTls(
                "it does not answer as an XMPP server".into(),
            ))
        }
    }
    let prefix = stream_prefix(&String::from_utf8_lossy(&buf)).to_string();
    buf.clear();
    tcp.write_all(format!("<starttls xmlns='{TLS_NS}'/>").as_bytes())
        .await
        .map_err(io)?;
    let reply = loop {
        if let Some(r) = starttls_reply(&String::from_utf8_lossy(&buf), &prefix) {
            break r;
        }
        read_more(tcp, &mut buf, &mut reads, "an answer to <starttls/>").await?;
    };
    match reply {
        StartTlsReply::Proceed => Ok(()),
        StartTlsReply::Failure => Err(Stop::NoStartTls(
            "it answered <starttls/> with <failure/>".into(),
        )),
        StartTlsReply::StreamError(c) => Err(Stop::NoStartTls(format!(
            "it answered <starttls/> with the stream error {c}"
        ))),
    }
}

/// The addresses of `host`: itself when it is an address, else from /etc/hosts and DNS
/// through hickory, which is cancelled with the probe (the system resolver would run in a
/// blocking thread that the runtime waits for at exit, holding status up past its bound).
/// Other NSS sources that jvb's Java resolver would also ask (mDNS, LDAP) are not asked:
/// a name only they know reads as "does not resolve".
async fn resolve(host: &str, port: u16) -> Result<Vec<std::net::SocketAddr>, Stop> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(vec![std::net::SocketAddr::new(ip, port)]);
    }
    let mut builder = hickory_resolver::TokioResolver::builder_tokio()
        .map_err(|e| Stop::Unreachable(format!("cannot read the resolver configuration: {e}")))?;
    builder.options_mut().use_hosts_file = hickory_resolver::config::ResolveHosts::Always;
    let found = builder
        .build()
        .lookup_ip(host)
        .await
        .map_err(|e| Stop::Unreachable(format!("{host} does not resolve: {e}")))?;
    Ok(found
        .iter()
        .map(|ip| std::net::SocketAddr::new(ip, port))
        .collect())
}

/// Reads more of the server's XMPP text into `buf`, bounded by [`MAX_XMPP_BYTES`].
async fn read_more(
    tcp: &mut tokio::net::TcpStream,
    buf: &mut Vec<u8>,
    reads: &mut u32,
    waiting_for: &str,
) -> Result<(), Stop> {
    if buf.len() > MAX_XMPP_BYTES {
        return Err(Stop::NoStartTls(format!(
            "it sent more than {MAX_XMPP_BYTES} bytes without {waiting_for}"
        )));
    }
    // Each read rescans what came so far; a peer trickling a byte per segment would make
    // that quadratic. prosody's whole pre-TLS exchange fits in a handful of reads.
    *reads += 1;
    if *reads > MAX_XMPP_READS {
        return Err(Stop::NoStartTls(format!(
            "it sent its answer in more than {MAX_XMPP_READS} pieces without {waiting_for}"
        )));
    }
    let mut chunk = [0u8; 4096];
    match tcp.read(&mut chunk).await {
        Ok(0) => Err(Stop::NoStartTls(format!(
            "it closed the connection before {waiting_for}"
        ))),
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(())
        }
        Err(e) => Err(Stop::NoStartTls(format!(
            "the connection failed before {waiting_for}: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests;
