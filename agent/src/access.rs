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
/// Most distinct keys `[access] ssh_authorized_keys` may list: far more people than
/// administer one server, few enough that every key still fits in the status line.
pub const MAX_KEYS: usize = 100;

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
///
/// Fields are separated by spaces and tabs only, as sshd separates them: any other
/// whitespace or control character (a no-break space, `\r`, `\v`, ESC) is refused, since
/// sshd would not read such a line as the key the status reports. Spaces, tabs and line
/// breaks around the line are dropped.
pub fn check_key(line: &str) -> Result<String, String> {
    let line = line.trim_matches([' ', '\t', '\r', '\n']);
    if line.len() > MAX_KEY_BYTES {
        return Err(format!(
            "is {} bytes; a public key line is at most {MAX_KEY_BYTES}",
            line.len()
        ));
    }
    if let Some(c) = line.chars().find(|c| matches!(c, '\n' | '\r' | '\0')) {
        return Err(format!(
            "holds a line break or NUL (U+{:04X}); give one key per list entry",
            c as u32
        ));
    }
    if let Some(bad) = line
        .chars()
        .find(|&c| c != ' ' && c != '\t' && (c.is_whitespace() || c.is_control()))
    {
        return Err(format!(
            "holds the character U+{:04X} (other whitespace or a control character), which sshd does not read as part of a key line; separate the fields with spaces only, as the .pub file does",
            bad as u32
        ));
    }
    let mut fields = line.split([' ', '\t']).filter(|f| !f.is_empty());
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

/// What makes two key lines the same key for sshd: the type and the key blob, whatever
/// the comment (`None` for a line [`check_key`] would refuse).
pub fn key_identity(line: &str) -> Option<(&str, &str)> {
    let mut fields = line.split([' ', '\t']).filter(|f| !f.is_empty());
    Some((fields.next()?, fields.next()?))
}

/// Checked keys, each once, and how many repeats were dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys {
    /// The distinct keys, in the order first given.
    pub keys: Vec<String>,
    /// How many entries repeated a key listed before them (same type and key data).
    pub duplicates: usize,
}

/// Checks every entry of `lines` with [`check_key`], keeps the first of each key (type and
/// key data; a second comment does not make a second key) and refuses more than
/// [`MAX_KEYS`] distinct keys. The error names the entry (from 1) or the count.
pub fn check_keys(lines: &[String]) -> Result<Keys, String> {
    let mut out = Keys::default();
    let mut seen = std::collections::HashSet::new();
    for (i, line) in lines.iter().enumerate() {
        let key = check_key(line).map_err(|r| format!("entry {}: {r}", i + 1))?;
        let identity = key_identity(&key)
            .map(|(kind, blob)| format!("{kind} {blob}"))
            .unwrap_or_else(|| key.clone());
        if !seen.insert(identity) {
            out.duplicates += 1;
            continue;
        }
        if out.keys.len() == MAX_KEYS {
            return Err(format!(
                "lists more than {MAX_KEYS} different keys; list at most {MAX_KEYS} (one per person who administers the server)"
            ));
        }
        out.keys.push(key);
    }
    Ok(out)
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
    fn only_spaces_and_tabs_separate_fields() {
        let (kind, blob) = ED25519.split_once(' ').unwrap();
        assert!(check_key(&format!("{kind}\t{blob}")).is_ok());
        for c in [
            '\u{a0}', '\u{2003}', '\u{3000}', '\u{85}', '\u{b}', '\u{c}', '\u{1b}',
        ] {
            for line in [
                format!("{kind}{c}{blob} a"),
                format!("{kind} {blob} a{c}b"),
                format!("{ED25519}{c}"),
            ] {
                let err = check_key(&line).expect_err(&line);
                assert!(err.contains(&format!("U+{:04X}", c as u32)), "{err}");
            }
        }
    }

    #[test]
    fn repeated_keys_are_kept_once_and_counted_and_the_count_is_capped() {
        let lines = vec![
            format!("{ED25519} first"),
            format!("{ED25519}  second"),
            ED25519.to_string(),
        ];
        let keys = check_keys(&lines).unwrap();
        assert_eq!(keys.keys, [format!("{ED25519} first")]);
        assert_eq!(keys.duplicates, 2);
        // Repeats do not count towards the cap.
        assert!(check_keys(&vec![ED25519.to_string(); MAX_KEYS + 50]).is_ok());
        let err = check_keys(&[ED25519.to_string(), "ssh-ed25519".into()]).unwrap_err();
        assert!(err.starts_with("entry 2: "), "{err}");
    }

    #[test]
    fn issue_text_keeps_backslashes_literal() {
        assert_eq!(issue_text(r"a\nb"), r"a\\nb");
    }
}
