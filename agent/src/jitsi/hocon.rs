//! The little of HOCON the jicofo and videobridge renderers need: quoted strings. HOCON
//! accepts JSON's string syntax, so JSON's escaping is exactly right for any value,
//! including a domain or password with quotes or backslashes in it.

/// `value` as a quoted HOCON string.
pub fn quote(value: &str) -> String {
    serde_json::Value::from(value).to_string()
}

/// The line that appends the operator's own HOCON file; HOCON ignores a missing file that is
/// included without `required(...)`, so the file is optional.
///
/// The plain `include "PATH"` form, not `include file("PATH")`: jicofo's and the bridge's
/// postinsts edit these files with Debian's ruby-hocon (`hocon -f FILE set ...`, jicofo
/// debian/postinst at 7ebb13dc lines 76-102), which writes `file(...)` back without its `)`;
/// the next `hocon` call then fails to parse and the postinst, under `set -e`, fails every
/// later apt run. Typesafe config (jicofo, the bridge) reads an absolute path in the plain
/// form as that file, so the meaning is the same.
pub fn include_local(path: &str) -> String {
    format!(
        "# Your additions and overrides: {path} (optional; later keys win).\ninclude {}\n",
        quote(path)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn quotes_like_json() {
        assert_eq!(super::quote(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
