//! prosody's accounts through its own `prosodyctl`: passwords go to it on stdin, never on
//! a command line (which any local user can read in /proc). [`Prosodyctl::at`] points it
//! at a configuration and a data directory (below `--root` for image builds and tests).
//!
//! Prosody 13's `adduser`, `passwd` and `deluser` only talk to a running server through
//! its admin socket; `register` and `unregister` still work on the storage directly,
//! whether or not prosody runs, so those are used, with the existence checks they lack
//! made on the file storage.

use anyhow::{anyhow, bail, Context, Result};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// prosody's data directory on Debian.
pub const DATA: &str = crate::paths::PROSODY_DATA;

/// How to run prosodyctl.
#[derive(Debug, Clone)]
pub struct Prosodyctl {
    config: Option<PathBuf>,
    data: PathBuf,
}

impl Prosodyctl {
    /// prosodyctl with the configuration `config` (prosodyctl's default when `None`) whose
    /// accounts are kept in `data`.
    pub fn at(config: Option<PathBuf>, data: PathBuf) -> Self {
        Self { config, data }
    }

    /// Whether `jid`'s account is in the file storage.
    fn exists(&self, jid: &str) -> Result<bool> {
        let (user, host) = split(jid)?;
        Ok(list(&self.data, host)?.iter().any(|u| u == user))
    }

    /// Runs `prosodyctl ARGS` with `input` on stdin; returns its combined output.
    fn run(&self, args: &[&str], input: &str) -> Result<(bool, String)> {
        let mut cmd = Command::new("prosodyctl");
        if let Some(config) = &self.config {
            cmd.arg("--config").arg(config);
        }
        let mut child = cmd
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run prosodyctl (is prosody installed?)")?;
        if let Some(mut stdin) = child.stdin.take() {
            // A prosodyctl that fails early closes stdin; its own message says why.
            let _ = stdin.write_all(input.as_bytes());
        }
        let out = child
            .wait_with_output()
            .context("prosodyctl did not finish")?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok((out.status.success(), text))
    }

    /// Creates `jid` with `password`, or fails if it exists.
    pub fn add(&self, jid: &str, password: &str) -> Result<()> {
        if self.exists(jid)? {
            bail!("{jid} already exists; use `meet-agent user passwd` to change its password");
        }
        self.register(jid, password, "adduser")
    }

    /// Sets the password of an existing `jid`.
    pub fn passwd(&self, jid: &str, password: &str) -> Result<()> {
        if !self.exists(jid)? {
            bail!("{jid} does not exist; `meet-agent user add` creates it");
        }
        self.register(jid, password, "passwd")
    }

    /// `prosodyctl register`, which creates or replaces the account (`what` names the
    /// operation in errors).
    fn register(&self, jid: &str, password: &str, what: &str) -> Result<()> {
        let (user, host) = split(jid)?;
        let (ok, text) = self.run(
            &["register", user, host],
            &format!("{password}\n{password}\n"),
        )?;
        if ok {
            Ok(())
        } else {
            Err(anyhow!(
                "prosodyctl {what} {jid} failed: {}",
                last_line(&text)
            ))
        }
    }

    /// Deletes `jid`.
    pub fn delete(&self, jid: &str) -> Result<()> {
        let (user, host) = split(jid)?;
        let (ok, text) = self.run(&["unregister", user, host], "")?;
        if ok {
            Ok(())
        } else {
            Err(anyhow!(
                "prosodyctl deluser {jid} failed: {}",
                last_line(&text)
            ))
        }
    }
}

/// `user@host` split at its `@`.
fn split(jid: &str) -> Result<(&str, &str)> {
    jid.split_once('@')
        .filter(|(user, host)| !user.is_empty() && !host.is_empty())
        .ok_or_else(|| anyhow!("`{jid}` is not user@host"))
}

/// prosodyctl's last meaningful line (its own error message).
fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("Enter new") && !l.starts_with("Retype"))
        .unwrap_or("no message")
        .to_string()
}

/// The accounts of `host` in prosody's file storage below `data_path` (names are stored
/// %-encoded: `meet.example.org` is `meet%2eexample%2eorg`).
pub fn list(data_path: &std::path::Path, host: &str) -> Result<Vec<String>> {
    let dir = data_path.join(encode(host)).join("accounts");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".dat").map(decode)
        })
        .collect();
    names.sort();
    Ok(names)
}

/// prosody's storage name for `s` (every byte but letters and digits as `%xx`).
pub(crate) fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02x}")
            }
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            // On bytes, not `&s[..]`: a multi-byte character after `%` is no char boundary.
            let digits = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = digits.and_then(|d| u8::from_str_radix(d, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_names_round_trip() {
        assert_eq!(encode("meet.example.org"), "meet%2eexample%2eorg");
        assert_eq!(decode("meet%2eexample%2eorg"), "meet.example.org");
        assert_eq!(decode("alice"), "alice");
        assert_eq!(decode("a%2"), "a%2");
        assert_eq!(decode("a%é"), "a%é");
    }
}
