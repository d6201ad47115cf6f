//! User-data shared with cloud-init: the one place that decides which part of it is ours.
//!
//! Sources whose user-data also feeds cloud-init (EC2 user-data, a cidata disk's
//! `user-data`) hand the bytes to [`read`]. The rules follow cloud-init's own
//! (`cloudinit/handlers/__init__.py`, `cloudinit/user_data.py`): gzip is undone first; text
//! that starts with MIME headers is a MIME message; text that starts with one of cloud-init's
//! markers (`#cloud-config`, `#!`, `#include`, `#cloud-boothook`, ...) is cloud-init's and
//! left alone; anything else is our TOML, as before. In a MIME message the parts of type
//! [`OUR_PART_TYPE`] are ours and every other part is cloud-init's.
//!
//! The MIME reader is our own, small on purpose: cloud-init's user-data needs headers,
//! boundaries and base64 or quoted-printable, nothing else, and the crates that parse whole
//! e-mail bring every legacy charset table with them (or need a newer compiler than ours).
//! Every size and count is bounded and no input can make it panic.

use crate::vocab::Fragment;
use anyhow::{anyhow, bail, Result};
use base64::Engine;
use std::io::Read;

/// The MIME type of a part that holds meet-agent's TOML (gzip allowed, base64 or
/// quoted-printable per its `Content-Transfer-Encoding`).
pub const OUR_PART_TYPE: &str = "text/x-meet-agent";

/// Where cloud-init is installed on an image that has it.
pub const CLOUD_INIT: &str = "/usr/bin/cloud-init";

/// The most of user-data that is looked at once gzip is undone (our part is then held to
/// the same limit by [`super::common::config_fragment`]). EC2 allows 16 KiB of user-data; this
/// leaves room for generous cidata disks while stopping a gzip bomb.
pub const MAX_DECODED_BYTES: usize = crate::fsutil::CONFIG_LIMIT as usize;

/// At most this many MIME parts are read, counting nested ones.
const MAX_PARTS: usize = 64;
/// At most this many nested multipart levels are read.
const MAX_DEPTH: usize = 4;
/// The headers a part is read for; others are skipped (not kept), so that any number of
/// header lines costs no memory, as Python's email package (cloud-init's reader) takes
/// any number.
const HEADERS_READ: [&str; 2] = ["content-type", "content-transfer-encoding"];

/// cloud-init's markers for the start of user-data, matched as cloud-init does: lower case,
/// after leading white space, longest first (`#include-once` before `#include`).
const CLOUD_INIT_MARKERS: [&str; 10] = [
    "## template: jinja",
    "#cloud-config-archive",
    "#cloud-config-jsonp",
    "#cloud-boothook",
    "#cloud-config",
    "#include-once",
    "#part-handler",
    "#upstart-job",
    "#include",
    "#!",
];

/// What a source's user-data held, once read.
#[derive(Debug, Default)]
pub struct UserData {
    /// Our configuration, if the user-data carries some.
    pub config: Option<Fragment>,
    /// What was left to cloud-init, one sentence for status (`None` when nothing was).
    pub left_alone: Option<String>,
}

/// Reads `bytes` of user-data named `origin` (for example `EC2 user-data`): our TOML, a
/// MIME part of type [`OUR_PART_TYPE`], or something of cloud-init's that is left alone.
/// Our part that cannot be read is an error; cloud-init's content never is.
pub fn read(origin: &str, bytes: &[u8]) -> Result<UserData> {
    // Only the first MAX_DECODED_BYTES are looked at: enough to tell whose it is, and what
    // is cloud-init's may be larger than we would ever read.
    let (bytes, cut) = decode_prefix(bytes).map_err(|e| anyhow!("{origin}: {e}"))?;
    let start = first_text(&bytes);
    if start.is_empty() && !cut {
        return Ok(UserData::default());
    }
    if let Some(marker) = cloud_init_marker(start) {
        return Ok(UserData {
            config: None,
            left_alone: Some(format!(
                "{origin} is cloud-init's ({marker}); meet-agent left it alone"
            )),
        });
    }
    let too_large = || {
        format!("is larger than {MAX_DECODED_BYTES} bytes (after gzip), more than meet-agent reads")
    };
    if starts_with_header(start) {
        if cut {
            if contains_our_type(&bytes) {
                bail!(
                    "{origin}: MIME message with a {OUR_PART_TYPE} part {}",
                    too_large()
                );
            }
            return Ok(UserData {
                config: None,
                left_alone: Some(format!(
                    "{origin} is a MIME message that {}; left to cloud-init",
                    too_large()
                )),
            });
        }
        return read_mime(origin, start);
    }
    if cut {
        bail!("{origin}: {}; shorten the configuration", too_large());
    }
    Ok(UserData {
        config: Some(our_text(origin, bytes)?),
        left_alone: None,
    })
}

/// The first [`MAX_DECODED_BYTES`] of `bytes`, gzip undone, and whether there was more.
fn decode_prefix(bytes: &[u8]) -> Result<(Vec<u8>, bool), String> {
    if !crate::encoding::is_gzip(bytes) {
        let cut = bytes.len() > MAX_DECODED_BYTES;
        return Ok((bytes[..bytes.len().min(MAX_DECODED_BYTES)].to_vec(), cut));
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(MAX_DECODED_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("gzip data is corrupt ({e}); compress it again with gzip"))?;
    let cut = out.len() > MAX_DECODED_BYTES;
    out.truncate(MAX_DECODED_BYTES);
    Ok((out, cut))
}

/// Whether a MIME message names our part type anywhere.
fn contains_our_type(bytes: &[u8]) -> bool {
    bytes
        .windows(OUR_PART_TYPE.len())
        .any(|w| w.eq_ignore_ascii_case(OUR_PART_TYPE.as_bytes()))
}

/// Our configuration from bytes that are ours whatever they hold (an LXD key, a fw_cfg
/// entry, a Compute Engine attribute, our MIME part): gzip undone (bounded), then UTF-8
/// text; the one path all sources share ([`super::common::config_fragment`]).
pub fn our_text(origin: &str, bytes: Vec<u8>) -> Result<Fragment> {
    super::common::config_fragment(origin, bytes)
}

/// The bytes from the first one that is not white space.
fn first_text(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// Whether `start` begins with `prefix`, ignoring ASCII case.
fn starts_with_ignore_case(start: &[u8], prefix: &str) -> bool {
    start.len() >= prefix.len() && start[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Whether the text opens with a MIME header (TOML has no `Name: value` lines, so this
/// cannot take a TOML file).
fn starts_with_header(start: &[u8]) -> bool {
    ["content-type:", "mime-version:"]
        .iter()
        .any(|h| starts_with_ignore_case(start, h))
}

/// cloud-init's marker that `start` begins with, if any.
fn cloud_init_marker(start: &[u8]) -> Option<&'static str> {
    CLOUD_INIT_MARKERS
        .iter()
        .copied()
        .find(|m| starts_with_ignore_case(start, m))
}

/// Reads a MIME message: our parts become the configuration, the rest is listed as left
/// alone. A message that cannot be read is cloud-init's business unless it names our type.
fn read_mime(origin: &str, bytes: &[u8]) -> Result<UserData> {
    let mut found = Found::default();
    if let Err(reason) = walk(bytes, 0, &mut found) {
        if contains_our_type(bytes) {
            bail!(
                "{origin}: MIME message with a {OUR_PART_TYPE} part cannot be read: {reason}; write it as cloud-init's `make-mime` or Python's email package does"
            );
        }
        return Ok(UserData {
            config: None,
            left_alone: Some(format!(
                "{origin} is a MIME message meet-agent cannot read ({reason}) and holds no {OUR_PART_TYPE} part; left to cloud-init"
            )),
        });
    }
    if found.ours.is_empty() && contains_our_type(bytes) {
        // The message names our type, yet no part of it was found: a mangled header or
        // delimiter. Reading on without our configuration would be a silent fallback.
        bail!(
            "{origin}: MIME message names {OUR_PART_TYPE} but has no part of that type that meet-agent can find (is `Content-Type: {OUR_PART_TYPE}` in that part's own headers, with its delimiter line matching the boundary?); write it as cloud-init's `make-mime` or Python's email package does"
        );
    }
    let others = if found.others.is_empty() {
        None
    } else {
        Some(found.others.join(", "))
    };
    let config = match found.ours.len() {
        0 => None,
        1 => {
            let (encoding, body) = found.ours.remove(0);
            let part_origin = format!("{origin} part {OUR_PART_TYPE}");
            let decoded = decode_transfer(&encoding, &body).map_err(|reason| {
                anyhow!("{part_origin}: {reason}")
            })?;
            Some(our_text(&part_origin, decoded)?)
        }
        n => bail!(
            "{origin}: MIME message has {n} {OUR_PART_TYPE} parts; put meet-agent's configuration in one part"
        ),
    };
    let left_alone = match (&config, others) {
        (_, None) => None,
        (Some(_), Some(types)) => Some(format!(
            "{origin} is MIME multipart: meet-agent read its {OUR_PART_TYPE} part and left {types} to cloud-init"
        )),
        (None, Some(types)) => Some(format!(
            "{origin} is MIME multipart without a {OUR_PART_TYPE} part ({types}); meet-agent left it to cloud-init"
        )),
    };
    Ok(UserData { config, left_alone })
}

/// The parts found while walking a MIME message.
#[derive(Default)]
struct Found {
    /// Our parts: transfer encoding (lower case) and raw body.
    ours: Vec<(String, Vec<u8>)>,
    /// The other parts' types, each once, in order.
    others: Vec<String>,
    /// Parts seen, nested ones included.
    parts: usize,
}

/// Reads one MIME entity (headers, blank line, body), descending into multipart bodies.
fn walk(entity: &[u8], depth: usize, found: &mut Found) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("multipart nested deeper than {MAX_DEPTH} levels"));
    }
    let (headers, body) = split_headers(entity);
    let (mut media_type, params) =
        parse_content_type(header(&headers, "content-type").unwrap_or_default());
    if media_type.is_empty() {
        // RFC 2045's default for a part without a type.
        media_type = "text/plain".into();
    }
    if media_type.starts_with("multipart/") {
        let boundary = params
            .iter()
            .find(|(k, _)| k == "boundary")
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| format!("{media_type} without a boundary parameter"))?;
        if boundary.is_empty() || boundary.len() > 70 {
            return Err("a multipart boundary must be 1 to 70 characters".into());
        }
        let parts = split_parts(body, boundary);
        if parts.is_empty() {
            // Its parts are somewhere, but not between lines of this boundary: a message
            // we would otherwise read as empty (and silently drop our part from).
            return Err(format!(
                "{media_type} declares the boundary `{}`, but no line of its body is `--{}`",
                shorten(boundary),
                shorten(boundary)
            ));
        }
        for part in parts {
            found.parts += 1;
            if found.parts > MAX_PARTS {
                return Err(format!("more than {MAX_PARTS} parts"));
            }
            walk(part, depth + 1, found)?;
        }
        return Ok(());
    }
    if media_type == OUR_PART_TYPE {
        let encoding = header(&headers, "content-transfer-encoding")
            .unwrap_or("7bit")
            .trim()
            .to_ascii_lowercase();
        found.ours.push((encoding, body.to_vec()));
    } else if !found.others.contains(&media_type) {
        found.others.push(media_type);
    }
    Ok(())
}

/// A part's headers among [`HEADERS_READ`]: lower-case name and unfolded value, in order.
type Headers = Vec<(String, String)>;

/// Splits an entity at its first empty line into the unfolded headers of [`HEADERS_READ`]
/// (name in lower case, value) and the body. What Python's email package takes with a
/// defect noted is taken here too, since cloud-init reads the same message with it.
fn split_headers(entity: &[u8]) -> (Headers, &[u8]) {
    let mut headers = Headers::new();
    // Whether the last header line was kept, so that its continuation lines join it.
    let mut last_kept = false;
    let mut pos = 0;
    // The first empty line ends the headers (a part may start with it: no headers).
    while let Some(line) = line_at(entity, pos) {
        pos += line.len();
        let text = trim_line(line);
        if text.is_empty() {
            return (headers, entity.get(pos..).unwrap_or_default());
        }
        let text = String::from_utf8_lossy(text);
        if text.starts_with([' ', '\t']) {
            // A continuation of a header that is not kept, or one with no header before
            // it (Python's FirstHeaderLineIsContinuationDefect: the line is dropped).
            if let (true, Some((_, value))) = (last_kept, headers.last_mut()) {
                value.push(' ');
                value.push_str(text.trim());
            }
            continue;
        }
        // A line that is not `name: value` ends the headers and starts the body, as in
        // Python's email package (cloud-init's reader; feedparser's
        // MissingHeaderBodySeparatorDefect): cloud-init takes such a part, so do we.
        let Some((name, value)) = text
            .split_once(':')
            .filter(|(name, _)| is_header_name(name))
        else {
            return (headers, entity.get(pos - line.len()..).unwrap_or_default());
        };
        let name = name.to_ascii_lowercase();
        last_kept = HEADERS_READ.contains(&name.as_str());
        if last_kept {
            headers.push((name, value.trim().to_string()));
        }
    }
    // Headers only, no body.
    (headers, &[])
}

/// Whether `name` is a header field name as Python's email package accepts one: printable
/// ASCII other than `:` and space, at least one character (its `headerRE`).
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| (b'!'..=b'~').contains(&b) && b != b':')
}

/// The line starting at `pos`, with its line break, if any is left.
fn line_at(bytes: &[u8], pos: usize) -> Option<&[u8]> {
    let rest = bytes.get(pos..).filter(|r| !r.is_empty())?;
    let end = rest
        .iter()
        .position(|&b| b == b'\n')
        .map_or(rest.len(), |i| i + 1);
    Some(&rest[..end])
}

/// A line without its line break (LF or CRLF).
fn trim_line(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The first header named `name` (lower case).
fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// `type/subtype; name=value; name="quoted value"` as the lower-case media type and the
/// parameters (names lower case).
fn parse_content_type(value: &str) -> (String, Vec<(String, String)>) {
    let mut pieces = split_params(value).into_iter();
    let media_type = pieces
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let params = pieces
        .filter_map(|p| {
            let (name, value) = p.split_once('=')?;
            Some((name.trim().to_ascii_lowercase(), unquote(value.trim())))
        })
        .collect();
    (media_type, params)
}

/// Splits at semicolons that are not inside a quoted string.
fn split_params(value: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        let current = out.last_mut();
        match (c, quoted, escaped) {
            (_, true, true) => escaped = false,
            ('\\', true, false) => escaped = true,
            ('"', _, false) => quoted = !quoted,
            (';', false, _) => {
                out.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(s) = current {
            s.push(c);
        }
    }
    out
}

/// A parameter value without its quotes and backslash escapes.
fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_string();
    };
    let mut out = String::new();
    let mut escaped = false;
    for c in inner.chars() {
        if c == '\\' && !escaped {
            escaped = true;
        } else {
            out.push(c);
            escaped = false;
        }
    }
    out
}

/// The parts of a multipart body: what lies between `--boundary` lines, up to the
/// `--boundary--` line (or the end, as lenient readers allow). The line break before a
/// delimiter belongs to the delimiter.
fn split_parts<'a>(body: &'a [u8], boundary: &str) -> Vec<&'a [u8]> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    let mut pos = 0;
    while let Some(line) = line_at(body, pos) {
        let text = trim_line(line);
        let text = &text[..text
            .iter()
            .rposition(|b| !matches!(b, b' ' | b'\t'))
            .map_or(0, |i| i + 1)];
        let is_close = text.len() == delimiter.len() + 2
            && text.starts_with(delimiter.as_bytes())
            && text.ends_with(b"--");
        if text == delimiter.as_bytes() || is_close {
            if let Some(s) = start {
                parts.push(without_final_break(&body[s..pos]));
            }
            if is_close {
                return parts;
            }
            start = Some(pos + line.len());
        }
        pos += line.len();
    }
    if let Some(s) = start {
        parts.push(&body[s.min(body.len())..]);
    }
    parts
}

/// `bytes` without one trailing LF or CRLF.
fn without_final_break(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

/// Undoes a part's `Content-Transfer-Encoding`.
fn decode_transfer(encoding: &str, body: &[u8]) -> Result<Vec<u8>, String> {
    match encoding {
        "7bit" | "8bit" | "binary" => Ok(body.to_vec()),
        "base64" => {
            let compact: Vec<u8> = body
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            base64::engine::general_purpose::STANDARD
                .decode(&compact)
                .map_err(|e| format!("Content-Transfer-Encoding is base64 but the body is not ({e})"))
        }
        "quoted-printable" => Ok(decode_quoted_printable(body)),
        other => Err(format!(
            "Content-Transfer-Encoding `{}` is not supported; use 7bit, 8bit, base64 or quoted-printable",
            shorten(other)
        )),
    }
}

/// Quoted-printable (RFC 2045 6.7): `=XX` is a byte, `=` at a line end joins lines;
/// anything malformed is kept as it stands, as lenient decoders do.
fn decode_quoted_printable(body: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b != b'=' {
            out.push(b);
            i += 1;
            continue;
        }
        let next = body.get(i + 1..).unwrap_or_default();
        if next.starts_with(b"\r\n") {
            i += 3;
        } else if next.starts_with(b"\n") {
            i += 2;
        } else if let (Some(h), Some(l)) = (
            next.first().and_then(|&c| hex(c)),
            next.get(1).and_then(|&c| hex(c)),
        ) {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

/// The first 60 characters of `text`, for an error message.
fn shorten(text: &str) -> String {
    text.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    const TOML: &str = "[server]\ndomain = \"meet.example.org\"\n";

    /// A multipart message as cloud-init's `make-mime` writes it (Python's email package):
    /// a cloud-config part, a shell script and our part base64-encoded.
    fn mime(our_part: &str) -> String {
        format!(
            "Content-Type: multipart/mixed; boundary=\"===============4291038100093149247==\"\n\
             MIME-Version: 1.0\n\
             \n\
             --===============4291038100093149247==\n\
             Content-Type: text/cloud-config; charset=\"us-ascii\"\n\
             MIME-Version: 1.0\n\
             Content-Transfer-Encoding: 7bit\n\
             Content-Disposition: attachment; filename=\"cloud.yaml\"\n\
             \n\
             #cloud-config\n\
             write_files:\n  - path: /etc/meet-agent/config.d/50-x.toml\n    content: |\n      [server]\n\
             \n\
             --===============4291038100093149247==\n\
             Content-Type: text/x-shellscript; charset=\"us-ascii\"\n\
             \n\
             #!/bin/sh\necho hi\n\
             \n\
             {our_part}\
             --===============4291038100093149247==--\n"
        )
    }

    fn our_part(encoding: &str, body: &str) -> String {
        format!(
            "--===============4291038100093149247==\n\
             Content-Type: text/x-meet-agent; charset=\"utf-8\"\n\
             MIME-Version: 1.0\n\
             Content-Transfer-Encoding: {encoding}\n\
             Content-Disposition: attachment; filename=\"site.toml\"\n\
             \n\
             {body}\n"
        )
    }

    /// What `read` made of some user-data: our text, and the note, if any.
    fn outcome(bytes: &[u8]) -> (Option<String>, Option<String>) {
        let data = read("EC2 user-data", bytes).unwrap();
        (data.config.map(|f| f.text), data.left_alone)
    }

    #[test]
    fn cloud_init_formats_are_left_alone_and_named() {
        let cases: [(&[u8], &str); 10] = [
            (b"#cloud-config\npackages: [htop]\n", "#cloud-config"),
            (b"  #Cloud-Config\n", "#cloud-config"),
            (b"#!/bin/bash\necho hi\n", "#!"),
            (b"#include\nhttps://example.org/x\n", "#include"),
            (b"#include-once\nhttps://example.org/x\n", "#include-once"),
            (b"#cloud-boothook\n#!/bin/sh\n", "#cloud-boothook"),
            (
                b"#cloud-config-archive\n- type: foo\n",
                "#cloud-config-archive",
            ),
            (b"#part-handler\ndef list_types(): pass\n", "#part-handler"),
            (b"## template: jinja\n#cloud-config\n", "## template: jinja"),
            (b"#upstart-job\n", "#upstart-job"),
        ];
        for (bytes, marker) in cases {
            let (config, note) = outcome(bytes);
            assert_eq!(config, None, "{marker}");
            let note = note.unwrap();
            assert!(note.contains(&format!("({marker})")), "{note}");
            assert!(note.contains("left it alone"), "{note}");
            // The same, gzip-compressed.
            let (config, note) = outcome(&gzip(bytes));
            assert_eq!(config, None);
            assert!(note.unwrap().contains(marker));
        }
    }

    #[test]
    fn toml_stays_ours_with_or_without_gzip_and_leading_comments() {
        // (user-data, ours?): a first line that starts with cloud-init's marker is
        // cloud-init's even when it would be a TOML comment, as cloud-init reads it so.
        let cases: [(&str, bool); 6] = [
            (TOML, true),
            ("# my site\n[server]\ndomain = \"meet.example.org\"\n", true),
            ("\n  # cloud-config is not a marker with a space\n", true),
            (
                "from = \"a bare key that reads like a mail header\"\n",
                true,
            ),
            (
                "[server] # broken TOML stays ours, so its error is shown\n=",
                true,
            ),
            ("\n#!!! a comment that starts like a script\n", false),
        ];
        for (text, ours) in cases {
            for bytes in [text.as_bytes().to_vec(), gzip(text.as_bytes())] {
                let (config, note) = outcome(&bytes);
                assert_eq!(config.as_deref(), ours.then_some(text), "{text}");
                assert_eq!(note.is_some(), !ours, "{text}");
            }
        }
    }

    #[test]
    fn empty_user_data_is_nothing() {
        for bytes in [&b""[..], b"  \n\t\n", &gzip(b"")] {
            assert_eq!(outcome(bytes), (None, None));
        }
    }

    #[test]
    fn our_mime_part_is_read_in_each_transfer_encoding() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(TOML);
        let gz_b64 = base64::engine::general_purpose::STANDARD.encode(gzip(TOML.as_bytes()));
        let qp = "[server]\ndomain =3D \"meet.exa=\nmple.org\"";
        let cases = [
            ("7bit", TOML.trim_end().to_string()),
            ("base64", b64),
            ("base64", gz_b64),
            ("quoted-printable", qp.to_string()),
        ];
        for (encoding, body) in cases {
            let data = read("EC2 user-data", mime(&our_part(encoding, &body)).as_bytes()).unwrap();
            let config = data.config.expect(encoding);
            assert_eq!(config.text.trim_end(), TOML.trim_end(), "{encoding}");
            assert_eq!(config.origin, "EC2 user-data part text/x-meet-agent");
            assert_eq!(
                data.left_alone.as_deref(),
                Some("EC2 user-data is MIME multipart: meet-agent read its text/x-meet-agent part and left text/cloud-config, text/x-shellscript to cloud-init")
            );
        }
        // The whole message gzip-compressed, with CRLF line ends.
        let crlf = mime(&our_part("7bit", TOML.trim_end())).replace('\n', "\r\n");
        let data = read("EC2 user-data", &gzip(crlf.as_bytes())).unwrap();
        assert!(data.config.unwrap().text.contains("meet.example.org"));
    }

    #[test]
    fn mime_without_our_part_is_left_alone() {
        let data = read("config disk user-data", mime("").as_bytes()).unwrap();
        assert!(data.config.is_none());
        assert_eq!(
            data.left_alone.as_deref(),
            Some("config disk user-data is MIME multipart without a text/x-meet-agent part (text/cloud-config, text/x-shellscript); meet-agent left it to cloud-init")
        );
    }

    #[test]
    fn nested_multipart_and_a_single_part_message_are_read() {
        let nested = format!(
            "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=outer\n\n\
             preamble\n--outer\nContent-Type: multipart/alternative; boundary=\"in ner\"\n\n\
             --in ner\n{}--in ner--\n--outer--\nepilogue\n",
            our_part("7bit", TOML).replace("--===============4291038100093149247==\n", "")
        );
        let data = read("EC2 user-data", nested.as_bytes()).unwrap();
        assert!(data.config.unwrap().text.contains("meet.example.org"));
        assert_eq!(data.left_alone, None);

        let single = format!("Content-Type: text/x-meet-agent\n\n{TOML}");
        assert_eq!(outcome(single.as_bytes()).0.as_deref(), Some(TOML));
    }

    #[test]
    fn broken_parts_of_ours_are_errors_and_broken_mime_of_others_is_not() {
        let errors = [
            (mime(&our_part("base64", "!!! not base64"))),
            (mime(&our_part("x-uuencode", "begin 644"))),
            (mime(&format!(
                "{}{}",
                our_part("7bit", TOML),
                our_part("7bit", TOML)
            ))),
            (mime(&our_part(
                "base64",
                &base64::engine::general_purpose::STANDARD.encode([0x1f, 0x8b, 0, 1]),
            ))),
            (mime(&our_part(
                "base64",
                &base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe]),
            ))),
            // Our type named, but no boundary to find it by.
            "Content-Type: multipart/mixed\n\n--x\nContent-Type: text/x-meet-agent\n\nA\n"
                .to_string(),
        ];
        let reasons = [
            "base64 but the body is not",
            "`x-uuencode` is not supported",
            "has 2 text/x-meet-agent parts",
            "gzip data is corrupt",
            "not UTF-8",
            "cannot be read: multipart/mixed without a boundary",
        ];
        for (text, reason) in errors.iter().zip(reasons) {
            let err = format!("{:#}", read("EC2 user-data", text.as_bytes()).unwrap_err());
            assert!(err.starts_with("EC2 user-data"), "{err}");
            assert!(err.contains(reason), "{reason}: {err}");
        }
        let (config, note) =
            outcome(b"Content-Type: multipart/mixed\n\n--x\nContent-Type: text/cloud-config\n\n#cloud-config\n");
        assert_eq!(config, None);
        assert!(note
            .unwrap()
            .contains("cannot read (multipart/mixed without a boundary"));
    }

    /// What plainly is MIME and names our type, but whose part of our type cannot be
    /// found, is an error naming our type: never a run without our configuration.
    #[test]
    fn our_part_that_cannot_be_found_in_plain_mime_is_an_error() {
        let good = mime(&our_part("7bit", TOML));
        let declared = "boundary=\"===============4291038100093149247==\"";
        let cases = [
            // The declared boundary matches no delimiter line (another, or another case).
            good.replacen(declared, "boundary=\"===============0000000000000000000==\"", 1),
            good.replacen(declared, "boundary=other", 1),
            good.replacen("4291038100093149247==\"", "4291038100093149247==X\"", 1),
            // Our part's type is not in its own headers (an empty line before it).
            mime("--===============4291038100093149247==\n\nContent-Type: text/x-meet-agent\n\n[server]\n"),
            // A single-part message whose type line is not a header.
            format!("MIME-Version: 1.0\nContent-Type : text/x-meet-agent\n\n{TOML}"),
        ];
        for text in cases {
            let err = match read("EC2 user-data", text.as_bytes()) {
                Ok(data) => panic!("read without error ({:?}): {text}", data.left_alone),
                Err(e) => format!("{e:#}"),
            };
            assert!(err.starts_with("EC2 user-data: MIME message"), "{err}");
            assert!(err.contains(OUR_PART_TYPE), "{err}");
        }
        // The same mismatch without our type is cloud-init's, and said to be unreadable.
        let theirs = mime("").replacen(declared, "boundary=other", 1);
        let (config, note) = outcome(theirs.as_bytes());
        assert_eq!(config, None);
        assert!(note.unwrap().contains("no line of its body is `--other`"));
    }

    /// A part of cloud-init's that Python's email package reads (cloud-init's reader) does
    /// not keep us from our part: a header line without a colon ends that part's headers.
    #[test]
    fn other_parts_are_read_as_leniently_as_cloud_init_reads_them() {
        for odd in [
            "X-Note without a colon\n",
            "Content-Type : text/plain\n",
            "\u{1}binary junk\n",
        ] {
            let part = format!(
                "--===============4291038100093149247==\nContent-Type: text/cloud-config\n{odd}\n#cloud-config\n"
            );
            let text = mime(&format!("{part}{}", our_part("7bit", TOML)));
            let (config, note) = outcome(text.as_bytes());
            assert_eq!(config.as_deref(), Some(TOML), "{odd:?}");
            assert!(note.unwrap().contains("text/cloud-config"), "{odd:?}");
        }
    }

    #[test]
    fn binary_that_is_no_format_is_an_error_as_before() {
        let err = read("EC2 user-data", &[0xff, 0xfe, 0x00]).unwrap_err();
        assert!(
            format!("{err:#}").contains("EC2 user-data: not UTF-8"),
            "{err:#}"
        );
        let err = read("EC2 user-data", &[0x1f, 0x8b, 0x08, 0x00]).unwrap_err();
        assert!(
            format!("{err:#}").contains("gzip data is corrupt"),
            "{err:#}"
        );
    }

    #[test]
    fn sizes_and_counts_are_bounded() {
        let bomb = gzip(&vec![b'a'; MAX_DECODED_BYTES + 1]);
        assert!(bomb.len() < 4096);
        let err = format!("{:#}", read("EC2 user-data", &bomb).unwrap_err());
        assert!(err.contains("larger than 1048576 bytes"), "{err}");
        let err = format!("{:#}", our_text("EC2 user-data", bomb).unwrap_err());
        assert!(err.contains("limited to 1 MiB"), "{err}");
        // cloud-init's content may be larger than we read: still left alone.
        let mut big = b"#cloud-config\n".to_vec();
        big.resize(MAX_DECODED_BYTES * 2, b'#');
        assert!(outcome(&gzip(&big)).1.unwrap().contains("#cloud-config"));
        let mut big_mime = mime("").into_bytes();
        big_mime.resize(MAX_DECODED_BYTES + 10, b'\n');
        assert!(outcome(&big_mime).1.unwrap().contains("larger than"));

        let many: String = (0..=MAX_PARTS)
            .map(|_| "--b\nContent-Type: text/x-shellscript\n\n#!/bin/sh\n")
            .collect();
        let many = format!("Content-Type: multipart/mixed; boundary=b\n\n{many}--b--\n");
        let (_, note) = outcome(many.as_bytes());
        assert!(note.unwrap().contains("more than 64 parts"));

        let mut deep = String::from("#!/bin/sh\n");
        for level in 0..=MAX_DEPTH + 1 {
            deep = format!(
                "Content-Type: multipart/mixed; boundary=b{level}\n\n--b{level}\n{deep}\n--b{level}--\n"
            );
        }
        let (_, note) = outcome(deep.as_bytes());
        assert!(note.unwrap().contains("nested deeper"));
    }

    #[test]
    fn hostile_input_never_panics() {
        let seeds: [&[u8]; 8] = [
            b"Content-Type: multipart/mixed; boundary=\"",
            b"Content-Type: multipart/mixed; boundary=a\n\n--a",
            b"Content-Type: multipart/mixed; boundary=a\n\n--a\n",
            b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\r\n--a--",
            b"MIME-Version: 1.0\n \tfolded\n",
            b"Content-Type: text/x-meet-agent\nContent-Transfer-Encoding: quoted-printable\n\n=",
            b"Content-Type: text/x-meet-agent\nContent-Transfer-Encoding: quoted-printable\n\n=4",
            b"content-type: ;;;\"\\",
        ];
        for seed in seeds {
            for cut in 0..=seed.len() {
                let _ = read("EC2 user-data", &seed[..cut]);
            }
        }
        assert_eq!(decode_quoted_printable(b"a=3Db=\r\nc=ZZ="), b"a=bc=ZZ=");

        // Random damage to a real message: bytes replaced by the characters MIME is made
        // of (a fixed xorshift sequence, so a failure repeats).
        let message = mime(&our_part("quoted-printable", "a=3D1")).into_bytes();
        let alphabet = b"-=\r\n:;\" \tabx";
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as usize
        };
        for _ in 0..3000 {
            let mut damaged = message.clone();
            for _ in 0..1 + next() % 8 {
                let at = next() % damaged.len();
                damaged[at] = alphabet[next() % alphabet.len()];
            }
            let cut = next() % (damaged.len() + 1);
            let _ = read("EC2 user-data", &damaged[..cut]);
        }
    }
}
