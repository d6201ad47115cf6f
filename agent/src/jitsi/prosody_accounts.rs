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

/// One account to write: `user@host` with `password` (SASLprep-stable: ours are base64url).
pub struct Account<'a> {
    /// The XMPP host (a virtual host or component domain).
    pub host: &'a str,
    /// The local part.
    pub user: &'a str,
    /// The password, of which only the SCRAM credentials are stored.
    pub password: &'a str,
}

/// Writes `user@host`'s credentials for `password`, as [`write_all`] does.
pub fn write(data_path: &Path, host: &str, user: &str, password: &str) -> Result<()> {
    write_all(
        data_path,
        &[Account {
            host,
            user,
            password,
        }],
    )
}

/// Writes each account's credentials below prosody's `data_path`, owned by the prosody
/// user where it exists, following no link below `data_path`. The credentials are derived
/// at once, each on a thread of its own (inline where no thread can be made): PBKDF2's
/// 10000 rounds are the agent's largest computation of a first boot (65 to 166 ms per
/// account under QEMU's emulation), and on two or more CPUs the derivations overlap. The
/// files are then written in order.
pub fn write_all(data_path: &Path, accounts: &[Account<'_>]) -> Result<()> {
    let salted: Vec<Salted> = std::thread::scope(|scope| {
        let derivations: Vec<_> = accounts
            .iter()
            .map(|account| {
                let job = move || derive(account.password);
                // A failed spawn (no threads left) only costs the overlap.
                std::thread::Builder::new()
                    .name("scram".into())
                    .spawn_scoped(scope, job)
                    .map_err(|_| job)
            })
            .collect();
        derivations
            .into_iter()
            .map(|derivation| match derivation {
                Ok(thread) => thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(job) => job(),
            })
            .collect::<Result<_>>()
    })?;
    for (account, (salt, stored_key, server_key)) in accounts.iter().zip(salted) {
        write_one(data_path, account, &salt, &stored_key, &server_key)?;
    }
    Ok(())
}

/// An account's salt, StoredKey and ServerKey, as hex.
type Salted = (String, String, String);

/// A fresh salt and the SCRAM-SHA-1 keys `password` gives with it.
fn derive(password: &str) -> Result<Salted> {
    let salt = hex(&super::secrets::random_bytes::<16>()?);
    let (stored_key, server_key) = scram_sha1(password, &salt, ITERATIONS);
    Ok((salt, stored_key, server_key))
}

/// Writes one account's file from its derived credentials.
fn write_one(
    data_path: &Path,
    account: &Account<'_>,
    salt: &str,
    stored_key: &str,
    server_key: &str,
) -> Result<()> {
    let text = format!(
        "return {{\n\t[\"salt\"] = \"{salt}\";\n\t[\"iteration_count\"] = {ITERATIONS};\n\t[\"stored_key\"] = \"{stored_key}\";\n\t[\"server_key\"] = \"{server_key}\";\n}};\n"
    );
    // prosody reads (and on password changes rewrites) its files as its own user, who can
    // also plant links in its storage: nothing below data_path is followed.
    let host = super::prosodyctl::encode(account.host);
    let name = format!("{}.dat", super::prosodyctl::encode(account.user));
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

    /// The credentials derived on separate threads land in their own account's file.
    #[test]
    fn each_account_gets_its_own_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let accounts = [
            Account {
                host: "auth.example.test",
                user: "focus",
                password: "pw-focus",
            },
            Account {
                host: "auth.example.test",
                user: "jvb",
                password: "pw-jvb",
            },
            Account {
                host: "recorder.example.test",
                user: "recorder",
                password: "pw-rec",
            },
        ];
        write_all(dir.path(), &accounts).unwrap();
        let field = |text: &str, key: &str| -> String {
            let start = text.find(&format!("[\"{key}\"] = ")).unwrap() + key.len() + 7;
            let rest = &text[start..];
            rest[..rest.find(';').unwrap()]
                .trim_matches('"')
                .to_string()
        };
        let mut salts = Vec::new();
        for account in &accounts {
            let host = crate::jitsi::prosodyctl::encode(account.host);
            let path = dir
                .path()
                .join(host)
                .join("accounts")
                .join(format!("{}.dat", account.user));
            let text = std::fs::read_to_string(&path).unwrap();
            let salt = field(&text, "salt");
            assert_eq!(field(&text, "iteration_count"), ITERATIONS.to_string());
            let (stored, server) = scram_sha1(account.password, &salt, ITERATIONS);
            assert_eq!(field(&text, "stored_key"), stored, "{}", path.display());
            assert_eq!(field(&text, "server_key"), server, "{}", path.display());
            salts.push(salt);
        }
        salts.sort();
        salts.dedup();
        assert_eq!(salts.len(), accounts.len(), "each account has its own salt");
    }
}
