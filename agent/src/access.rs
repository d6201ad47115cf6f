//! Administrative access: the SSH public keys that may log in as root (`[access]
//! ssh_authorized_keys`), kept in a file of the agent's own that sshd reads beside the
//! user's (`AuthorizedKeysFile` in the image's sshd drop-in), so keys added by hand to
//! `~/.ssh/authorized_keys` are never touched; and the one-screen summary shown on the
//! serial console before login and in the SSH login banner.

use crate::encoding;

/// The agent's authorized keys for root (sshd reads it through the image's drop-in,
/// `/etc/ssh/sshd_config.d/50-ryo-jitsi.conf`).
pub const AUTHORIZED_KEYS: &str = "/etc/meet-agent/ssh/authorized_keys.root";
/// The console's pre-login summary (agetty prints /etc/issue.d/*.issue after /etc/issue).
pub const ISSUE: &str = "/etc/issue.d/ryo-jitsi.issue";

/// The longest key line accepted (an RSA key of 16384 bits is about 2.8 KiB).
pub const MAX_KEY_BYTES: usize = 8192;

/// Key types OpenSSH accepts for user authentication.
const KEY_TYPES: [&str; 6] = [
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
];
/// The security-key ECDSA type, listed apart to keep the table above readable.
const SK_ECDSA: &str = "sk-ecdsa-sha2-nistp256@openssh.com";

/// Checks one `authorized_keys` line as `ssh-keygen` would print a public key: `TYPE BASE64
/// [COMMENT]`, one line, a known type, and a key blob that names the same type. Options
/// (`command=...`, `from=...`) are refused: the agent grants plain logins only.
pub fn check_key(line: &str) -> Result<String, String> {
    let line = line.trim();
    if line.len() > MAX_KEY_BYTES {
        return Err(format!(
            "is {} bytes; a public key line is at most {MAX_KEY_BYTES}",
            line.len()
        ));
    }
    if line.contains(['\n', '\r', '\0']) {
        return Err("holds a line break or NUL; give one key per list entry".into());
    }
    let mut fields = line.split_ascii_whitespace();
    let kind = fields.next().unwrap_or_default();
    if !KEY_TYPES.contains(&kind) && kind != SK_ECDSA {
        return Err(format!(
            "starts with '{}', not a key type such as ssh-ed25519 (options such as command= are not supported); paste the .pub file's line",
            kind.chars().take(40).collect::<String>()
        ));
    }
    let blob = fields
        .next()
        .ok_or_else(|| format!("has the type {kind} but no key after it"))?;
    let bytes =
        encoding::base64_decode(blob).ok_or_else(|| format!("{kind} key is not valid base64"))?;
    // The blob starts with the key type as an SSH string (4-byte length, then the name).
    let named = bytes
        .get(..4)
        .map(|n| u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize)
        .and_then(|n| bytes.get(4..4 + n))
        .map(|name| name == kind.as_bytes())
        .unwrap_or(false);
    if !named {
        return Err(format!(
            "{kind} key's data is not a {kind} key (was it cut or pasted from another line?)"
        ));
    }
    Ok(line.to_string())
}

/// The authorized keys file for `keys` (already checked).
pub fn render_authorized_keys(keys: &[String]) -> String {
    let mut out = String::from(
        "# Managed by meet-agent from [access] ssh_authorized_keys (and, on an image without\n\
         # cloud-init, the instance's key pair); rewritten at every boot.\n\
         # Keys you add by hand belong in /root/.ssh/authorized_keys, which meet-agent leaves alone.\n",
    );
    for key in keys {
        out.push_str(key);
        out.push('\n');
    }
    out
}

/// Escapes text for agetty, which expands `\x` sequences in issue files.
pub fn issue_text(summary: &str) -> String {
    summary.replace('\\', "\\\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    // A real ed25519 public key (made with ssh-keygen for this test).
    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMa0tGi/fmhJkD1Ti3p6MlTw0sywZQmBQ4kyYWYBkVA1 admin@laptop";

    #[test]
    fn a_public_key_line_is_accepted_and_trimmed() {
        assert_eq!(
            check_key(&format!("  {ED25519}\n")),
            Ok(ED25519.to_string())
        );
    }

    #[test]
    fn options_other_types_and_broken_keys_are_refused_with_a_reason() {
        let cases = [
            (format!("command=\"/bin/sh\" {ED25519}"), "not a key type"),
            ("ssh-dss AAAAB3NzaC1kc3M= old".to_string(), "not a key type"),
            ("ssh-ed25519".to_string(), "no key after it"),
            ("ssh-ed25519 !!!notbase64".to_string(), "not valid base64"),
            // An RSA blob under the ed25519 type.
            (
                "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQAB x".to_string(),
                "is not a ssh-ed25519 key",
            ),
            (format!("{ED25519}\nssh-ed25519 AAAA"), "line break"),
            (
                format!("ssh-rsa {}", "A".repeat(MAX_KEY_BYTES)),
                "at most 8192",
            ),
        ];
        for (line, reason) in cases {
            let err = check_key(&line).expect_err(&line);
            assert!(err.contains(reason), "{line}: {err}");
        }
    }

    #[test]
    fn issue_text_keeps_backslashes_literal() {
        assert_eq!(issue_text(r"a\nb"), r"a\\nb");
    }
}
