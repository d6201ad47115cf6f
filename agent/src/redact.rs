//! Removing credentials from text that came from outside (a provider's answer, a CA's
//! error) before it reaches a log line, `status` or the state file.
//!
//! A credential rarely comes back as it was configured: a provider that echoes its request
//! shows it URL-encoded (`%20` or `+` for a space, either case of hex digits, some
//! characters left as they are), inside `Authorization: Basic` as base64 of
//! `user:password`, JSON-escaped (`\"`, `\/`, `\u0026`) or HTML-escaped (`&amp;`). One
//! [`Redactor`] knows every configured secret and finds each of them in any of these forms.

use base64::Engine;

/// What a found credential is replaced with.
pub const REDACTED: &str = "<redacted>";

/// The configured secrets, and how to find them in text.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Secrets as configured, each as characters (matched in any encoding, see [`matches`]).
    secrets: Vec<Vec<char>>,
    /// Fixed strings that give a secret away: its base64 forms.
    literals: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// A redactor that knows no secret yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `secret`, which may travel with the basic-auth user name `user`. Empty secrets
    /// are ignored.
    pub fn add(&mut self, secret: &str, user: Option<&str>) {
        if secret.is_empty() {
            return;
        }
        self.secrets.push(secret.chars().collect());
        let engines = [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::STANDARD_NO_PAD,
            base64::engine::general_purpose::URL_SAFE,
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        let mut plain = vec![secret.as_bytes().to_vec()];
        if let Some(user) = user {
            plain.push(format!("{user}:{secret}").into_bytes());
        }
        for bytes in &plain {
            for engine in &engines {
                self.literals.push(engine.encode(bytes));
            }
        }
        // Hex of the bytes, as providers that echo a digest input or a binary field do.
        let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
        self.literals.push(hex.to_ascii_uppercase());
        self.literals.push(hex);
        // Inside a longer base64 text the secret starts at any of three byte offsets; the
        // characters that depend only on the secret's bytes are the same wherever it is.
        for offset in 0..3 {
            let mut padded = vec![0u8; offset];
            padded.extend_from_slice(secret.as_bytes());
            let skip = (offset * 4).div_ceil(3);
            let full = (padded.len() / 3) * 4;
            if full >= skip + 8 {
                for engine in [&engines[0], &engines[2]] {
                    self.literals
                        .push(engine.encode(&padded)[skip..full].to_string());
                }
            }
        }
        self.literals.retain(|l| !l.is_empty());
        // Longest first, so that a longer form is not left half replaced by a shorter one.
        self.literals.sort_by_key(|l| std::cmp::Reverse(l.len()));
        self.literals.dedup();
    }

    /// Whether no secret is known.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every known secret, in every form it may travel in, replaced by
    /// [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        if self.is_empty() {
            return text.to_string();
        }
        let mut text = text.to_string();
        for literal in &self.literals {
            if text.contains(literal.as_str()) {
                text = text.replace(literal.as_str(), REDACTED);
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        'scan: while let Some(c) = rest.chars().next() {
            for secret in &self.secrets {
                if let Some(len) = matches(rest, secret) {
                    out.push_str(REDACTED);
                    rest = &rest[len..];
                    continue 'scan;
                }
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }
}

/// If `text` starts with `secret` in some encoding, how many bytes of `text` it takes.
/// Each character may appear as itself or in any of [`forms`], independently of the others
/// (encoders differ in which characters they leave alone).
fn matches(text: &str, secret: &[char]) -> Option<usize> {
    // Depth first over (characters matched, bytes taken), without recursion: a long token
    // must not exhaust the stack.
    let mut stack = vec![(0usize, 0usize)];
    while let Some((matched, taken)) = stack.pop() {
        let Some(&c) = secret.get(matched) else {
            return Some(taken);
        };
        for len in forms(&text[taken..], c).into_iter().rev() {
            stack.push((matched + 1, taken + len));
        }
    }
    None
}

/// The lengths of the prefixes of `text` that spell `c`: the character itself,
/// percent-encoded (each UTF-8 byte as `%XX`, hex in either case), `+` for a space,
/// JSON escapes (`\"`, `\\`, `\/`, `\n`, `\uXXXX`) and HTML escapes (`&amp;`, `&#38;`,
/// `&#x26;`).
fn forms(text: &str, c: char) -> Vec<usize> {
    let mut found = Vec::new();
    if text.starts_with(c) {
        found.push(c.len_utf8());
    }
    let bytes = text.as_bytes();
    // Percent-encoding of every UTF-8 byte of `c`, once or more (`%2520` is a space
    // encoded twice, as a provider that encodes the URL it was given echoes it).
    let mut buf = [0u8; 4];
    let utf8 = c.encode_utf8(&mut buf).as_bytes();
    for times in 0..3 {
        let mut at = 0;
        let percent = utf8.iter().all(|b| {
            let ok = percent_byte(bytes.get(at..).unwrap_or_default(), times) == Some(*b);
            at += 3 + 2 * times;
            ok
        });
        if percent {
            found.push(at);
        }
    }
    if c == ' ' && text.starts_with('+') {
        found.push(1);
    }
    // JSON string escapes.
    found.extend(json_escape(text, c));
    // HTML character references.
    found.extend(html_reference(text, c));
    found
}

/// The length of `c` JSON-escaped at the start of `text` (`\"`, `\n`, `\u00e9`, a
/// surrogate pair), if it is there.
fn json_escape(text: &str, c: char) -> Option<usize> {
    let esc = text.strip_prefix('\\')?;
    let mut found = None;
    let simple = match c {
        '"' => Some('"'),
        '\\' => Some('\\'),
        '/' => Some('/'),
        '\n' => Some('n'),
        '\r' => Some('r'),
        '\t' => Some('t'),
        '\u{8}' => Some('b'),
        '\u{c}' => Some('f'),
        _ => None,
    };
    if simple.is_some_and(|s| esc.starts_with(s)) {
        found = Some(2);
    }
    let unit = |at: usize| {
        esc.get(at..at + 5)
            .and_then(|u| u.strip_prefix('u'))
            .and_then(|h| u16::from_str_radix(h, 16).ok())
    };
    let mut units = [0u16; 2];
    match c.encode_utf16(&mut units) {
        [one] if unit(0) == Some(*one) => found = Some(6),
        // Outside the BMP: a surrogate pair, as Python's json and others write it.
        [high, low]
            if unit(0) == Some(*high) && esc.get(5..6) == Some("\\") && unit(6) == Some(*low) =>
        {
            found = Some(12);
        }
        _ => {}
    }
    found
}

/// The length of `c` as an HTML character reference (`&amp;`, `&#38;`, `&#x26;`) at the
/// start of `text`, if it is there.
fn html_reference(text: &str, c: char) -> Option<usize> {
    let entity = text.strip_prefix('&')?;
    let mut found = None;

    if let Some(end) = entity.find(';').filter(|&e| e <= 10) {
        let name = &entity[..end];
        let named = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => None,
        };
        let numeric = name.strip_prefix('#').and_then(|n| {
            match n.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => n.parse::<u32>().ok(),
            }
            .and_then(char::from_u32)
        });
        if named.or(numeric) == Some(c) {
            found = Some(end + 2);
        }
    }
    found
}

/// The byte that `text` starts with percent-encoded and then encoded `again` more times
/// (`%XX`, `%25XX`, `%2525XX`; hex in either case), if it does.
fn percent_byte(text: &[u8], again: usize) -> Option<u8> {
    let rest = text.strip_prefix(b"%")?;
    let mut rest = rest;
    for _ in 0..again {
        rest = rest.strip_prefix(b"25")?;
    }
    let hex = std::str::from_utf8(rest.get(..2)?).ok()?;
    u8::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        let mut r = Redactor::new();
        r.add("ECHOPASS p&ss+1/=", Some("echouser"));
        r
    }

    #[test]
    fn every_form_of_a_credential_is_redacted() {
        let r = redactor();
        let b64 = base64::engine::general_purpose::STANDARD;
        let forms = [
            "ECHOPASS p&ss+1/=".to_string(),
            "ECHOPASS%20p%26ss%2B1%2F%3D".to_string(),
            "ECHOPASS+p%26ss%2B1%2F%3D".to_string(),
            "ECHOPASS%20p%26ss%2b1%2f%3d".to_string(),
            "ECHOPASS%20p%26ss+1/=".replace("+1", "%2B1"),
            "%45CHOPASS p&amp;ss+1/=".to_string(),
            "ECHOPASS p\\u0026ss+1\\/=".to_string(),
            "ECHOPASS p&#38;ss&#x2B;1/=".to_string(),
            b64.encode("echouser:ECHOPASS p&ss+1/="),
            b64.encode("ECHOPASS p&ss+1/="),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("echouser:ECHOPASS p&ss+1/="),
        ];
        for form in forms {
            let text = format!("HTTP 400: GET /nic/update?pw={form}&x=1 auth=Basic {form} end");
            let out = r.redact(&text);
            assert!(!out.contains(&form), "{form} survived: {out}");
            assert!(!out.contains("ECHOPASS"), "{out}");
            assert!(out.contains("<redacted>") && out.ends_with(" end"), "{out}");
        }
        // Within a longer base64 text (the secret at any offset) the middle is removed.
        for prefix in ["", "a", "ab"] {
            let text = b64.encode(format!("{prefix}ECHOPASS p&ss+1/= and more"));
            let out = r.redact(&text);
            assert!(out.contains(REDACTED), "{prefix:?}: {out}");
        }
        // Outside the BMP, JSON escapes are surrogate pairs.
        let mut emoji = Redactor::new();
        emoji.add("pw\u{1F600}x", None);
        assert_eq!(emoji.redact("a pw\\ud83d\\ude00x b"), "a <redacted> b");
        assert_eq!(emoji.redact("a pw\\uD83D\\uDE00x b"), "a <redacted> b");
        // A JSON-escaped value as serde_json writes it.
        let json = serde_json::to_string("ECHOPASS p&ss+1/=\"").unwrap();
        let mut quoted = Redactor::new();
        quoted.add("ECHOPASS p&ss+1/=\"", None);
        assert!(!quoted.redact(&json).contains("ECHOPASS"));
    }

    /// Every encoding a provider may echo a credential in, for a secret with letters,
    /// a space, reserved and non-ASCII characters: none of them survives.
    #[test]
    fn hex_and_double_and_lower_case_url_encodings_are_redacted_too() {
        let secret = "ECHOPASS p&ss+1/=\"é";
        let mut r = Redactor::new();
        r.add(secret, Some("echouser"));
        let hex_upper: String = secret.bytes().map(|b| format!("{b:02X}")).collect();
        let hex_lower = hex_upper.to_lowercase();
        let all_upper: String = secret.bytes().map(|b| format!("%{b:02X}")).collect();
        let all_lower = all_upper.to_lowercase();
        let component = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        let once = component(secret);
        let twice = component(&once);
        let b64 = base64::engine::general_purpose::STANDARD;
        let forms = [
            secret.to_string(),
            once.clone(),
            once.to_lowercase().replace("echopass", "ECHOPASS"),
            twice.clone(),
            twice.to_lowercase().replace("echopass", "ECHOPASS"),
            component(&twice),
            all_upper.clone(),
            all_lower.clone(),
            component(&all_upper),
            hex_upper.clone(),
            hex_lower.clone(),
            b64.encode(secret),
            b64.encode(format!("echouser:{secret}")),
        ];
        for form in forms {
            let out = r.redact(&format!("echo: pw={form}&x=1 end"));
            assert!(!out.contains("ECHOPASS"), "{form} survived: {out}");
            assert!(!out.contains(&hex_upper[..16]), "{form} survived: {out}");
            assert!(!out.contains(&hex_lower[..16]), "{form} survived: {out}");
            assert!(!out.contains(&all_upper[..24]), "{form} survived: {out}");
            assert!(!out.contains(&all_lower[..24]), "{form} survived: {out}");
            assert!(
                out.contains(REDACTED) && out.ends_with("&x=1 end"),
                "{form}: {out}"
            );
        }
    }

    #[test]
    fn text_without_secrets_is_unchanged() {
        let r = redactor();
        let text = "HTTP 400: bad request for meet.example.org (ECHO) p&s 100%";
        assert_eq!(r.redact(text), text);
        assert_eq!(Redactor::new().redact("x"), "x");
    }
}
