//! The encodings instance data and supplied certificates arrive in: gzip (detected by its
//! magic bytes) and base64.

use anyhow::{Context, Result};
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

/// Decompresses `bytes` if they are gzip, otherwise returns them unchanged.
pub fn maybe_gunzip(bytes: Vec<u8>) -> Result<Vec<u8>> {
    if !is_gzip(&bytes) {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_end(&mut out)
        .context("gzip data is corrupt")?;
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
        assert_eq!(maybe_gunzip(bytes).unwrap(), b"hello\n");
        assert_eq!(maybe_gunzip(b"plain".to_vec()).unwrap(), b"plain");
        assert!(maybe_gunzip(vec![0x1f, 0x8b, 0, 1]).is_err());
    }
}
