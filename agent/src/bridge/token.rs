//! The join token: everything a videobridge needs to join a signaling node, in one line an
//! operator can paste into `bridge.join` (or SSM, or instance metadata).
//!
//! The names follow upstream: docker-jitsi-meet's `jvb/rootfs/defaults/jvb.conf` logs the
//! bridge in as `JVB_AUTH_USER` (`jvb`) on `XMPP_AUTH_DOMAIN` (`auth.DOMAIN`) at
//! `XMPP_SERVER` and joins `JVB_BREWERY_MUC@XMPP_INTERNAL_MUC_DOMAIN`; Debian's
//! jitsi-meet-prosody (and our `jitsi/prosody.rs`) serve `auth.DOMAIN` and the MUC
//! component `internal.auth.DOMAIN`, and our `jitsi/jicofo.rs` watches
//! `JvbBrewery@internal.auth.DOMAIN`. Unlike upstream's docker default, the bridge verifies
//! the signaling node's certificate for `auth.DOMAIN`, so the token carries it.
//!
//! Encoding: `ryojvb1.` + base64url (no padding) of gzip of compact JSON. gzip because the
//! certificate is most of the token; the prefix names the format and its version, so a
//! token of another kind, or of a later format, is refused by name rather than as garbage.

use crate::encoding::hex;
use crate::tls::inspect;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::{Read, Write};
use thiserror::Error;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The text every join token starts with, before its version number.
pub const PREFIX: &str = "ryojvb";
/// The token format this agent writes and reads.
pub const VERSION: u32 = 1;
/// The XMPP client port a bridge connects to on the signaling node (upstream's default).
pub const DEFAULT_PORT: u16 = crate::vocab::ports::XMPP_CLIENT;
/// The XMPP account every bridge of a deployment shares (upstream's `JVB_AUTH_USER`).
pub const DEFAULT_USERNAME: &str = "jvb";
/// The control account every recorder of a deployment shares on `auth.DOMAIN` (jibri's
/// README and docker-jitsi-meet's `JIBRI_XMPP_USER`).
pub const RECORDER_USERNAME: &str = "jibri";
/// The hidden account recorders join meetings with on `recorder.DOMAIN` (upstream's
/// `JIBRI_RECORDER_USER`; prosody's `recorder_prefixes` default names it).
pub const CALL_USERNAME: &str = "recorder";
/// Longest token accepted, checked before any decoding: a real one is a few KiB.
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;
/// Longest decompressed payload accepted (a small gzip can expand to gigabytes).
const MAX_PAYLOAD_BYTES: u64 = 64 * 1024;
/// Where to get a good token, for the errors.
const REMEDY: &str =
    "copy the whole token again from `meet-agent bridge token` on the signaling node";

/// Why a join token was refused. Each message is one sentence naming what is wrong; none
/// of them quotes the token, which holds a password.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// The input is larger than [`MAX_TOKEN_BYTES`]; refused before decoding.
    #[error("the join token is {0} bytes, more than the {MAX_TOKEN_BYTES} a token can be; pass the token itself, not a file or a log")]
    Oversized(usize),
    /// The input is empty.
    #[error("the join token is empty; {REMEDY}")]
    Empty,
    /// The input does not start with [`PREFIX`] and a version.
    #[error("the join token does not start with `{PREFIX}1.`, so it is not a ryo-jitsi join token; {REMEDY}")]
    WrongPrefix,
    /// A token of a format this agent does not read.
    #[error("the join token has format version {0}, but this agent reads version {VERSION}; make the token with the same image as the bridges")]
    UnsupportedVersion(String),
    /// The input is cut short.
    #[error("the join token is truncated ({0}); {REMEDY}")]
    Truncated(String),
    /// The input is not base64url, gzip or the expected JSON.
    #[error("the join token is malformed ({0}); {REMEDY}")]
    Malformed(String),
    /// A field the token must have is absent.
    #[error("the join token has no `{0}` field; {REMEDY}")]
    MissingField(&'static str),
    /// A field holds a value a bridge cannot use.
    #[error("the join token's `{field}` {reason}; {REMEDY}")]
    InvalidField {
        /// The field's name in the token.
        field: &'static str,
        /// What is wrong with it, starting with a verb.
        reason: String,
    },
    /// The certificate is not PEM certificates a bridge can trust for `auth.DOMAIN`.
    #[error("the join token's certificate {0}; give the certificate prosody presents for auth.DOMAIN on port 5222, or the CA that issued it")]
    BadCertificate(String),
    /// The token is for another deployment than the one expected.
    #[error("the join token is for domain {found}, but this server's domain is {expected}; use the token of {expected}'s signaling node")]
    WrongDomain {
        /// The domain the caller expected.
        expected: String,
        /// The domain the token names.
        found: String,
    },
    /// The kernel's random number generator failed.
    #[error("the system's random number generator failed while making a jvb password; check the kernel's entropy source and retry")]
    Random,
    /// Compressing the token failed (writes to memory; not expected to happen).
    #[error("compressing the join token failed ({0}); retry, and report it if it persists")]
    Encode(String),
}

/// What a videobridge needs to join a signaling node. Built only through [`Token::new`] or
/// [`Token::decode`], so every value in it has been validated.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    host: String,
    port: u16,
    domain: String,
    brewery_room: String,
    username: String,
    password: String,
    certificate_pem: String,
    /// A recorder's token: the hidden account on `recorder.DOMAIN` it joins meetings with
    /// (user name, password). A bridge's token has none.
    call: Option<(String, String)>,
    /// The canonical encoding, made once: it also yields the fingerprint.
    encoded: String,
}

/// The JSON inside the token, as written.
#[derive(Serialize)]
struct WireOut<'a> {
    v: u32,
    host: &'a str,
    port: u16,
    domain: &'a str,
    auth_domain: &'a str,
    internal_muc_domain: &'a str,
    brewery_muc: &'a str,
    username: &'a str,
    password: &'a str,
    certificate: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    call_domain: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    call_username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    call_password: Option<&'a str>,
}

/// The JSON inside the token, as read: every field optional so that a missing one is
/// named in the error rather than found by serde's message.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireIn {
    v: Option<u32>,
    host: Option<String>,
    port: Option<u16>,
    domain: Option<String>,
    auth_domain: Option<String>,
    internal_muc_domain: Option<String>,
    brewery_muc: Option<String>,
    username: Option<String>,
    password: Option<String>,
    certificate: Option<String>,
    call_domain: Option<String>,
    call_username: Option<String>,
    call_password: Option<String>,
}

impl Token {
    /// A token for bridges joining `host`:`port` (usually [`DEFAULT_PORT`]) of the
    /// deployment `domain`, with the shared `jvb` account's `password` and the PEM
    /// `certificate_pem` (the leaf prosody presents for `auth.DOMAIN`, or its CA).
    pub fn new(
        host: &str,
        port: u16,
        domain: &str,
        password: &str,
        certificate_pem: &str,
    ) -> Result<Token, TokenError> {
        Self::shared_account(
            (host, port, domain),
            |names| names.brewery_jid.clone(),
            DEFAULT_USERNAME,
            password,
            certificate_pem,
        )
    }

    /// A token of a shared account on `auth.DOMAIN` and no call account: (host, port,
    /// domain) of the signaling node, the brewery (from the site's names), the account.
    fn shared_account(
        (host, port, domain): (&str, u16, &str),
        brewery: impl Fn(&crate::plan::xmpp::XmppNames) -> String,
        username: &str,
        password: &str,
        certificate_pem: &str,
    ) -> Result<Token, TokenError> {
        let domain = domain.trim().to_ascii_lowercase();
        let names = crate::plan::xmpp::XmppNames::new(&domain);
        Self::build(Fields {
            host,
            port,
            domain: &domain,
            auth_domain: &names.auth,
            internal_muc_domain: &names.internal,
            brewery_muc: &brewery(&names),
            username,
            password,
            certificate: certificate_pem,
            call: None,
        })
    }

    /// A token for recorders (jibri) joining `host`:`port` of `domain`: the shared control
    /// account `jibri@auth.DOMAIN` with `control_password`, jibri's brewery, and the hidden
    /// account `recorder@recorder.DOMAIN` with `call_password`; the certificate as for
    /// bridges.
    pub fn for_recorder(
        host: &str,
        port: u16,
        domain: &str,
        control_password: &str,
        call_password: &str,
        certificate_pem: &str,
    ) -> Result<Token, TokenError> {
        let domain = domain.trim().to_ascii_lowercase();
        let names = crate::plan::xmpp::XmppNames::new(&domain);
        Self::build(Fields {
            host,
            port,
            domain: &domain,
            auth_domain: &names.auth,
            internal_muc_domain: &names.internal,
            brewery_muc: &names.jibri_brewery_jid,
            username: RECORDER_USERNAME,
            password: control_password,
            certificate: certificate_pem,
            call: Some(Call {
                domain: &names.recorder,
                username: CALL_USERNAME,
                password: call_password,
            }),
        })
    }

    /// A token for SIP gateways (jigasi) joining `host`:`port` of `domain`: the shared
    /// account `jigasi@auth.DOMAIN` with `password` (its control login and each call's) and
    /// jigasi's brewery; the certificate as for bridges.
    pub fn for_sip(
        host: &str,
        port: u16,
        domain: &str,
        password: &str,
        certificate_pem: &str,
    ) -> Result<Token, TokenError> {
        Self::shared_account(
            (host, port, domain),
            |names| names.jigasi_brewery_jid.clone(),
            crate::plan::xmpp::JIGASI_USERNAME,
            password,
            certificate_pem,
        )
    }

    /// Reads a token pasted by an operator (surrounding and embedded whitespace, as a
    /// terminal's line wrapping adds, is ignored).
    pub fn decode(text: &str) -> Result<Token, TokenError> {
        if text.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Oversized(text.len()));
        }
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.is_empty() {
            return Err(TokenError::Empty);
        }
        let body = strip_prefix(&compact)?;
        let gz = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|e| match e {
                base64::DecodeError::InvalidByte(offset, _) => TokenError::Malformed(format!(
                    "character {} after the prefix is not base64url",
                    offset + 1
                )),
                _ => TokenError::Truncated("its base64url text ends mid-character".into()),
            })?;
        let json = gunzip(&gz)?;
        let wire: WireIn = serde_json::from_slice(&json).map_err(json_error)?;
        match wire.v {
            Some(VERSION) => {}
            Some(other) => return Err(TokenError::UnsupportedVersion(other.to_string())),
            None => return Err(TokenError::MissingField("v")),
        }
        let need =
            |value: Option<String>, name: &'static str| value.ok_or(TokenError::MissingField(name));
        let host = need(wire.host, "host")?;
        let port = wire.port.ok_or(TokenError::MissingField("port"))?;
        let domain = need(wire.domain, "domain")?;
        let auth_domain = need(wire.auth_domain, "auth_domain")?;
        let internal = need(wire.internal_muc_domain, "internal_muc_domain")?;
        let brewery = need(wire.brewery_muc, "brewery_muc")?;
        let username = need(wire.username, "username")?;
        let password = need(wire.password, "password")?;
        let certificate = need(wire.certificate, "certificate")?;
        let call = match (wire.call_domain, wire.call_username, wire.call_password) {
            (None, None, None) => None,
            (domain, username, password) => Some((
                need(domain, "call_domain")?,
                need(username, "call_username")?,
                need(password, "call_password")?,
            )),
        };
        Self::build(Fields {
            host: &host,
            port,
            domain: &domain,
            auth_domain: &auth_domain,
            internal_muc_domain: &internal,
            brewery_muc: &brewery,
            username: &username,
            password: &password,
            certificate: &certificate,
            call: call.as_ref().map(|(domain, username, password)| Call {
                domain,
                username,
                password,
            }),
        })
    }

    /// [`Token::decode`], and the token must be for `expected_domain` (a bridge whose own
    /// configuration names its deployment's domain).
    pub fn decode_for_domain(text: &str, expected_domain: &str) -> Result<Token, TokenError> {
        let token = Self::decode(text)?;
        let expected = expected_domain.trim().to_ascii_lowercase();
        if token.domain != expected {
            return Err(TokenError::WrongDomain {
                expected,
                found: token.domain,
            });
        }
        Ok(token)
    }

    /// The token's text, `ryojvb1.…`: a secret (it holds the jvb password).
    pub fn encode(&self) -> String {
        self.encoded.clone()
    }

    /// `sha256:` and 16 hex digits of the encoded token: safe for logs and status, and
    /// equal on a signaling node and its bridges when they hold the same token.
    pub fn fingerprint(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, self.encoded.as_bytes());
        format!("sha256:{}", hex(&digest.as_ref()[..8]))
    }

    /// The signaling node's host name (or address) the bridge connects to.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The signaling node's XMPP client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The deployment's domain, `DOMAIN`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The XMPP domain the bridge logs in to, `auth.DOMAIN` (upstream's `XMPP_AUTH_DOMAIN`).
    pub fn auth_domain(&self) -> String {
        crate::plan::xmpp::XmppNames::new(&self.domain).auth
    }

    /// The MUC component of the brewery, `internal.auth.DOMAIN`.
    pub fn internal_muc_domain(&self) -> String {
        crate::plan::xmpp::XmppNames::new(&self.domain).internal
    }

    /// The brewery room's JID, `JvbBrewery@internal.auth.DOMAIN` (jvb's `MUC_JIDS`).
    pub fn brewery_muc_jid(&self) -> String {
        format!("{}@{}", self.brewery_room, self.internal_muc_domain())
    }

    /// The shared XMPP account's name, `jvb`.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The shared account's password: a secret.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The PEM certificate(s) the bridge trusts for `auth.DOMAIN` on the XMPP port.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// A recorder's hidden account on `recorder.DOMAIN` (user name, password: a secret);
    /// `None` in a bridge's token.
    pub fn call_login(&self) -> Option<(&str, &str)> {
        self.call.as_ref().map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// The hidden domain recorders log in to, `recorder.DOMAIN`.
    pub fn call_domain(&self) -> String {
        crate::plan::xmpp::XmppNames::new(&self.domain).recorder
    }

    /// What the token lets a machine join as (the role's name): `"recorder"` (it carries
    /// the hidden call account), `"sip"` (it names jigasi's brewery) or `"videobridge"`.
    pub fn kind(&self) -> &'static str {
        if self.call.is_some() {
            "recorder"
        } else if self
            .brewery_room
            .eq_ignore_ascii_case(crate::plan::xmpp::JIGASI_BREWERY_ROOM)
        {
            "sip"
        } else {
            "videobridge"
        }
    }

    fn build(f: Fields<'_>) -> Result<Token, TokenError> {
        let host = f.host.trim().to_ascii_lowercase();
        if !is_dns_name(&host) && host.parse::<std::net::IpAddr>().is_err() {
            return Err(invalid("host", "is not a DNS name or an IP address"));
        }
        if f.port == 0 {
            return Err(invalid("port", "is 0, not a TCP port"));
        }
        let domain = f.domain.trim().to_ascii_lowercase();
        if !is_dns_name(&domain) || !domain.contains('.') {
            return Err(invalid("domain", "is not a DNS name with a dot"));
        }
        let names = crate::plan::xmpp::XmppNames::new(&domain);
        let (auth_domain, internal) = (names.auth, names.internal);
        if !f.auth_domain.eq_ignore_ascii_case(&auth_domain) {
            return Err(invalid("auth_domain", format!("is not {auth_domain}")));
        }
        if !f.internal_muc_domain.eq_ignore_ascii_case(&internal) {
            return Err(invalid("internal_muc_domain", format!("is not {internal}")));
        }
        let room = match f.brewery_muc.rsplit_once('@') {
            Some((room, at)) if at.eq_ignore_ascii_case(&internal) && is_localpart(room) => room,
            _ => {
                return Err(invalid(
                    "brewery_muc",
                    format!("is not a room JID of {internal}"),
                ))
            }
        };
        if !is_localpart(f.username) {
            return Err(invalid("username", "is not an XMPP user name"));
        }
        check_password(f.password)?;
        let call = match f.call {
            None => None,
            Some(call) => {
                if !call.domain.eq_ignore_ascii_case(&names.recorder) {
                    return Err(invalid("call_domain", format!("is not {}", names.recorder)));
                }
                if !is_localpart(call.username) {
                    return Err(invalid("call_username", "is not an XMPP user name"));
                }
                check_password(call.password)?;
                Some((call.username.to_string(), call.password.to_string()))
            }
        };
        let certificate_pem = check_certificate(f.certificate, &auth_domain)?;
        let mut token = Token {
            host,
            port: f.port,
            domain,
            brewery_room: room.to_string(),
            username: f.username.to_string(),
            password: f.password.to_string(),
            certificate_pem,
            call,
            encoded: String::new(),
        };
        token.encoded = token.canonical_encoding()?;
        Ok(token)
    }

    fn canonical_encoding(&self) -> Result<String, TokenError> {
        let auth_domain = self.auth_domain();
        let internal = self.internal_muc_domain();
        let brewery = self.brewery_muc_jid();
        let call_domain = self.call_domain();
        let wire = WireOut {
            v: VERSION,
            host: &self.host,
            port: self.port,
            domain: &self.domain,
            auth_domain: &auth_domain,
            internal_muc_domain: &internal,
            brewery_muc: &brewery,
            username: &self.username,
            password: &self.password,
            certificate: &self.certificate_pem,
            call_domain: self.call.as_ref().map(|_| call_domain.as_str()),
            call_username: self.call.as_ref().map(|(u, _)| u.as_str()),
            call_password: self.call.as_ref().map(|(_, p)| p.as_str()),
        };
        let json = serde_json::to_vec(&wire).map_err(|e| TokenError::Encode(e.to_string()))?;
        // No file name and a zero mtime: the same token always encodes to the same text,
        // so fingerprints made on different machines compare.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&json)
            .map_err(|e| TokenError::Encode(e.to_string()))?;
        let bytes = gz.finish().map_err(|e| TokenError::Encode(e.to_string()))?;
        Ok(format!(
            "{PREFIX}{VERSION}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        ))
    }
}

impl fmt::Debug for Token {
    /// Names the deployment and the fingerprint; never the password or the token text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("domain", &self.domain)
            .field("kind", &self.kind())
            .field("fingerprint", &self.fingerprint())
            .field("password", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A fresh password for the shared `jvb` account, for `meet-agent bridge token --new`:
/// 32 characters of base64url from 24 random bytes (about 192 bits), the shape of the
/// per-instance secrets.
pub fn generate_password() -> Result<String, TokenError> {
    let mut bytes = [0u8; 24];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| TokenError::Random)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The values a token is built from, before validation.
struct Fields<'a> {
    host: &'a str,
    port: u16,
    domain: &'a str,
    auth_domain: &'a str,
    internal_muc_domain: &'a str,
    brewery_muc: &'a str,
    username: &'a str,
    password: &'a str,
    certificate: &'a str,
    call: Option<Call<'a>>,
}

/// A recorder's hidden account, before validation.
struct Call<'a> {
    domain: &'a str,
    username: &'a str,
    password: &'a str,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> TokenError {
    TokenError::InvalidField {
        field,
        reason: reason.into(),
    }
}

/// The base64url part after `ryojvb<version>.`.
fn strip_prefix(compact: &str) -> Result<&str, TokenError> {
    let rest = compact
        .strip_prefix(PREFIX)
        .ok_or(TokenError::WrongPrefix)?;
    let (version, body) = rest.split_once('.').ok_or(TokenError::WrongPrefix)?;
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TokenError::WrongPrefix);
    }
    if version != VERSION.to_string() {
        // Cap what is echoed: the version is short by construction, but this is input.
        return Err(TokenError::UnsupportedVersion(
            version.chars().take(10).collect(),
        ));
    }
    if body.is_empty() {
        return Err(TokenError::Truncated("nothing follows the prefix".into()));
    }
    Ok(body)
}

/// Inflates the payload, at most [`MAX_PAYLOAD_BYTES`].
fn gunzip(gz: &[u8]) -> Result<Vec<u8>, TokenError> {
    if gz.len() < 2 {
        return Err(TokenError::Truncated(
            "its payload is shorter than a gzip header".into(),
        ));
    }
    if !crate::encoding::is_gzip(gz) {
        return Err(TokenError::Malformed("its payload is not gzip".into()));
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .take(MAX_PAYLOAD_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                TokenError::Truncated("its gzip data ends early".into())
            }
            _ => TokenError::Malformed("its gzip data is corrupt".into()),
        })?;
    if out.len() as u64 > MAX_PAYLOAD_BYTES {
        return Err(TokenError::Malformed(format!(
            "it decompresses to more than {MAX_PAYLOAD_BYTES} bytes"
        )));
    }
    Ok(out)
}

/// serde_json's error, without any value from the input (a value could be the password).
fn json_error(e: serde_json::Error) -> TokenError {
    let at = format!("line {} column {}", e.line(), e.column());
    if e.is_eof() {
        return TokenError::Truncated(format!("its JSON ends early at {at}"));
    }
    let message = e.to_string();
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let name: String = rest.chars().take_while(|c| *c != '`').take(40).collect();
        return TokenError::Malformed(format!("it has an unknown field `{name}`"));
    }
    if e.is_syntax() {
        return TokenError::Malformed(format!("its payload is not JSON at {at}"));
    }
    TokenError::Malformed(format!("a field has the wrong type at {at}"))
}

/// A DNS name: dot-separated labels of letters, digits and inner hyphens, 253 bytes at most.
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// An XMPP local part we render into jvb.conf and prosody unquoted-safe.
fn is_localpart(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The password goes into jvb.conf (HOCON) and prosody's accounts, so it is limited to
/// characters that need no quoting in either.
fn check_password(password: &str) -> Result<(), TokenError> {
    let len = password.chars().count();
    if len < 16 {
        return Err(invalid(
            "password",
            format!("is {len} characters, fewer than the 16 required"),
        ));
    }
    if len > 256 {
        return Err(invalid("password", "is longer than 256 characters"));
    }
    if !password.bytes().all(|b| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'+' | b'/' | b'=')
    }) {
        return Err(invalid(
            "password",
            "has characters other than letters, digits and -_.~+/=",
        ));
    }
    Ok(())
}

/// Checks that `pem` holds only X.509 certificates and that a leaf (a certificate that is
/// not a CA) names `auth_domain`, since that is the name the bridge verifies; returns the
/// certificates re-encoded as canonical PEM.
fn check_certificate(pem: &str, auth_domain: &str) -> Result<String, TokenError> {
    let blocks = pem::parse_many(pem.as_bytes())
        .map_err(|e| TokenError::BadCertificate(format!("is not valid PEM: {e}")))?;
    if blocks.is_empty() {
        return Err(TokenError::BadCertificate("holds no PEM block".into()));
    }
    for (i, block) in blocks.iter().enumerate() {
        if block.tag() != "CERTIFICATE" {
            return Err(TokenError::BadCertificate(format!(
                "block {} is a {}, not a CERTIFICATE (a token never carries keys)",
                i + 1,
                block.tag().chars().take(40).collect::<String>()
            )));
        }
        let (_, cert) = X509Certificate::from_der(block.contents()).map_err(|e| {
            TokenError::BadCertificate(format!("block {} is not an X.509 certificate: {e}", i + 1))
        })?;
        if i == 0 && !cert.is_ca() && !inspect::covers(&inspect::names(&cert), auth_domain) {
            return Err(TokenError::BadCertificate(format!(
                "is a leaf that does not name {auth_domain} (it names {})",
                describe_names(&inspect::names(&cert))
            )));
        }
    }
    let lf = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    Ok(pem::encode_many_config(&blocks, lf))
}

fn describe_names(names: &[String]) -> String {
    if names.is_empty() {
        "no DNS names".into()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests;
