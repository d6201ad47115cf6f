//! prosody's internal accounts for jicofo (`focus`) and the videobridge (`jvb`), written
//! straight into its file storage as its `internal_hashed` provider keeps them: SCRAM-SHA-1
//! credentials (RFC 5802: a salt, an iteration count, StoredKey and ServerKey), never the
//! password. Calling prosodyctl instead costs over a second per account on a small VM,
//! most of the agent's first-boot time; the boot and prosody tests log in with these.

use crate::apply::{write_beneath, Owner};
use crate::encoding::hex;
use anyhow::Result;
use std::path::Path;

/// prosody's default PBKDF2 iteration count (`default_iteration_count`).
const ITERATIONS: u32 = 10_000;

/// Writes `user@host`'s credentials for `password` below prosody's `data_path`, owned by
/// the prosody user where it exists, following no link below `data_path`. The password must be SASLprep-stable (ours are
/// base64url).
pub fn write(data_path: &Path, host: &str, user: &str, password: &str) -> Result<()> {
    let salt = hex(&super::secrets::random_bytes::<16>()?);
    let (stored_key, server_key) = scram_sha1(password, &salt, ITERATIONS);
    let text = format!(
        "return {{\n\t[\"salt\"] = \"{salt}\";\n\t[\"iteration_count\"] = {ITERATIONS};\n\t[\"stored_key\"] = \"{stored_key}\";\n\t[\"server_key\"] = \"{server_key}\";\n}};\n"
    );
    // prosody reads (and on password changes rewrites) its files as its own user, who can
    // also plant links in its storage: nothing below data_path is followed.
    let host = super::prosodyctl::encode(host);
    let name = format!("{}.dat", super::prosodyctl::encode(user));
    write_beneath(
        data_path,
        &[&host, "accounts"],
        &name,
        text.as_bytes(),
        0o640,
        Owner::user("prosody"),
    )?;
    Ok(())
}

/// SCRAM-SHA-1 StoredKey and ServerKey as lower-case hex.
fn scram_sha1(password: &str, salt: &str, iterations: u32) -> (String, String) {
    use ring::{digest, hmac, pbkdf2};
    let mut salted = [0u8; 20];
    let rounds = std::num::NonZeroU32::new(iterations).unwrap_or(std::num::NonZeroU32::MIN);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA1,
        rounds,
        salt.as_bytes(),
        password.as_bytes(),
        &mut salted,
    );
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &salted);
    let client_key = hmac::sign(&key, b"Client Key");
    let stored_key = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, client_key.as_ref());
    let server_key = hmac::sign(&key, b"Server Key");
    (hex(stored_key.as_ref()), hex(server_key.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// prosody 0.12 wrote this account for the password `pw3` (prosodyctl passwd).
    #[test]
    fn matches_what_prosody_writes() {
        let (stored, server) = scram_sha1("pw3", "bf5597ee-1361-4ca6-bf95-67fa26159f29", 10_000);
        assert_eq!(stored, "c5f51bdeaa6c552b03282afb5f545fb50e5dcf1a");
        assert_eq!(server, "243800608e991f3a8b3c79d8736adcf94c666d7e");
    }
}
