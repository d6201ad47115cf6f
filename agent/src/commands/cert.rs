//! `cert encode`: supplied certificate material in the form the configuration takes.

use crate::cli::CertAction;
use std::io::Write;

/// `meet-agent cert encode FILE`: gzip+base64 on one line.
pub fn cert(action: CertAction) -> anyhow::Result<u8> {
    let CertAction::Encode { file } = action;
    let bytes = crate::fsutil::read_regular(&file, crate::tls::material::PEM_LIMIT)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", crate::encoding::gzip_base64(&bytes)?)?;
    Ok(0)
}
