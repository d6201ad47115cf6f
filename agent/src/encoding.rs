//! The encodings instance data and supplied certificates arrive in: gzip (detected by its
//! magic bytes) and base64.

use anyhow::{bail, Context, Result};
use base64::Engine;
use std::io::Read;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Lower-case hexadecimal, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `bytes` start with the gzip magic number.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Decompresses `bytes` if they are gzip, otherwise returns them unchanged; either way the
/// result may hold at most `limit` bytes (a small gzip can expand to gigabytes, so the
/// decompression stops one byte past the limit).
pub fn maybe_gunzip(bytes: Vec<u8>, limit: u64) -> Result<Vec<u8>> {
    if !is_gzip(&bytes) {
        if bytes.len() as u64 > limit {
            bail!("it is larger than {limit} bytes");
        }
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .context("gzip data is corrupt")?;
    if out.len() as u64 > limit {
        bail!("it decompresses to more than {limit} bytes");
    }
    Ok(out)
}

/// gzip, then base64 without line breaks: the format of the CloudFormation template's
/// `encode-certificate` helper, accepted by `tls.certificate` and `tls.key`.
pub fn gzip_base64(bytes: &[u8]) -> Result<String> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(gz.finish()?))
}

/// Decodes base64, ignoring whitespace and line breaks; `None` if it is not base64.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_base64_round_trip() {
        let encoded = gzip_base64(b"hello\n").unwrap();
        assert!(!encoded.contains('\n'));
        let bytes = base64_decode(&encoded).unwrap();
        assert!(is_gzip(&bytes));
        assert_eq!(maybe_gunzip(bytes, 100).unwrap(), b"hello\n");
        assert_eq!(maybe_gunzip(b"plain".to_vec(), 100).unwrap(), b"plain");
        assert!(maybe_gunzip(vec![0x1f, 0x8b, 0, 1], 100).is_err());
    }

    #[test]
    fn decompression_stops_at_the_limit() {
        // 64 MiB of zeros compress to about 64 KiB; only limit + 1 bytes are ever inflated.
        let bomb = {
            use std::io::Write;
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            let chunk = vec![0u8; 1 << 20];
            for _ in 0..64 {
                gz.write_all(&chunk).unwrap();
            }
            gz.finish().unwrap()
        };
        let err = maybe_gunzip(bomb.clone(), 1 << 16).unwrap_err().to_string();
        assert!(err.contains("more than 65536 bytes"), "{err}");
        assert_eq!(maybe_gunzip(bomb, 64 << 20).unwrap().len(), 64 << 20);
        assert!(maybe_gunzip(vec![b'x'; 11], 10).is_err());
    }
}
