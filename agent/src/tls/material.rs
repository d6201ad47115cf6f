//! Certificate and key material: reading it from a path or inline, in PEM, base64 of PEM or
//! gzip+base64 of PEM, and holding it as parsed DER.

use crate::encoding::{base64_decode, maybe_gunzip};
use crate::secret::is_path;
use anyhow::{anyhow, bail, Context, Result};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Largest certificate chain or key, as PEM after decoding: 256 KiB (a real chain of a
/// leaf and two intermediates is under 10 KiB).
pub const PEM_LIMIT: u64 = 256 << 10;
/// Largest value as given, a file or inline text (base64 makes PEM a third larger): 512 KiB.
pub const INPUT_LIMIT: u64 = 512 << 10;
/// Most certificates a chain may hold (leaf, intermediates and perhaps a root).
pub const CHAIN_LIMIT: usize = 10;

/// A certificate chain (leaf first) and its private key.
#[derive(Clone)]
pub struct Pair {
    /// DER certificates, in the order given.
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key.
    pub key: KeyPem,
}

/// A private key with its PEM tag; `Debug` never shows it.
#[derive(Clone)]
pub struct KeyPem {
    tag: String,
    der: Vec<u8>,
}

impl std::fmt::Debug for KeyPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyPem({}, <redacted>)", self.tag)
    }
}

impl KeyPem {
    /// The key as rustls takes it.
    pub fn der(&self) -> Result<PrivateKeyDer<'static>> {
        let der = self.der.clone();
        Ok(match self.tag.as_str() {
            "PRIVATE KEY" => PrivateKeyDer::Pkcs8(der.into()),
            "RSA PRIVATE KEY" => PrivateKeyDer::Pkcs1(der.into()),
            "EC PRIVATE KEY" => PrivateKeyDer::Sec1(der.into()),
            other => bail!("unsupported private key type `{other}`"),
        })
    }

    /// The key as PEM text with LF line endings.
    pub fn pem(&self) -> String {
        pem::encode_config(&pem::Pem::new(self.tag.clone(), self.der.clone()), lf())
    }
}

fn lf() -> pem::EncodeConfig {
    pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF)
}

impl Pair {
    /// Parses PEM text of a chain and of a key.
    pub fn from_pem(chain: &[u8], key: &[u8]) -> Result<Self> {
        if chain.len() as u64 > PEM_LIMIT || key.len() as u64 > PEM_LIMIT {
            bail!("certificate or key is larger than {PEM_LIMIT} bytes of PEM; supply the leaf and its intermediates only");
        }
        let blocks = pem::parse_many(chain).context("certificate is not valid PEM")?;
        let count = blocks.iter().filter(|b| b.tag() == "CERTIFICATE").count();
        if count > CHAIN_LIMIT {
            bail!("certificate chain holds {count} certificates, more than {CHAIN_LIMIT}; supply the leaf and its intermediates only");
        }
        let chain: Vec<CertificateDer<'static>> = blocks
            .into_iter()
            .filter(|b| b.tag() == "CERTIFICATE")
            .map(|b| CertificateDer::from(b.into_contents()))
            .collect();
        if chain.is_empty() {
            bail!("certificate holds no CERTIFICATE block");
        }
        let key = pem::parse_many(key)
            .context("key is not valid PEM")?
            .into_iter()
            .find(|b| b.tag().ends_with("PRIVATE KEY"))
            .ok_or_else(|| anyhow!("key holds no PRIVATE KEY block"))?;
        let key = KeyPem {
            tag: key.tag().to_string(),
            der: key.into_contents(),
        };
        key.der()?;
        Ok(Self { chain, key })
    }

    /// The chain as PEM text with LF line endings, leaf first.
    pub fn chain_pem(&self) -> String {
        let blocks: Vec<pem::Pem> = self
            .chain
            .iter()
            .map(|c| pem::Pem::new("CERTIFICATE", c.to_vec()))
            .collect();
        pem::encode_many_config(&blocks, lf())
    }
}

/// Reads a material value (`tls.certificate` or `tls.key`): a path or inline text, in PEM,
/// base64 of PEM, or gzip+base64 of PEM. `what` names it in errors; the content never
/// appears in an error. A path must name a regular file (not a FIFO or a device); the
/// value may be at most [`INPUT_LIMIT`] bytes and decode to at most [`PEM_LIMIT`] bytes.
pub fn read(value: &str, what: &str) -> Result<Vec<u8>> {
    let (text, place) = if is_path(value) {
        let bytes = crate::fsutil::read_regular(std::path::Path::new(value), INPUT_LIMIT)
            .with_context(|| format!("failed to read {what} {value}"))?;
        (bytes, format!("{what} {value}"))
    } else {
        if value.len() as u64 > INPUT_LIMIT {
            bail!("failed to read {what} (inline): it is larger than {INPUT_LIMIT} bytes; supply the leaf and its intermediates only");
        }
        (value.as_bytes().to_vec(), format!("{what} (inline)"))
    };
    decode(text).map_err(|reason| anyhow!("failed to read {place}: {reason}"))
}

fn decode(bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    let looks_pem = |b: &[u8]| {
        let s = String::from_utf8_lossy(&b[..b.len().min(4096)]);
        s.trim_start().starts_with("-----BEGIN ")
    };
    let too_large = || {
        format!("it holds more than {PEM_LIMIT} bytes of PEM; supply the leaf and its intermediates only")
    };
    if looks_pem(&bytes) {
        if bytes.len() as u64 > PEM_LIMIT {
            return Err(too_large());
        }
        return Ok(bytes);
    }
    let not_any =
        "not PEM, base64 or gzip+base64 (make gzip+base64 with `meet-agent cert encode FILE`)";
    let text = String::from_utf8(bytes).map_err(|_| not_any.to_string())?;
    let decoded = base64_decode(&text).ok_or_else(|| not_any.to_string())?;
    let decoded = maybe_gunzip(decoded, PEM_LIMIT).map_err(|e| {
        // A read error from the decompressor is corrupt data; anything else is the limit.
        if e.chain()
            .any(|c| c.downcast_ref::<std::io::Error>().is_some())
        {
            format!("gzip+base64 but {e:#}")
        } else {
            too_large()
        }
    })?;
    if looks_pem(&decoded) {
        Ok(decoded)
    } else {
        Err("base64 that does not hold PEM (or gzip of PEM)".into())
    }
}
