//! Reading configuration fragments and merging them, remembering where each key came from.

use super::schema::Config;
use crate::fsutil::{read_regular, CONFIG_LIMIT};
pub use crate::vocab::Fragment;
use anyhow::{anyhow, Context, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;
use toml::{Table, Value};

/// The drop-in files in `dirs` (lowest precedence first), in the order they merge: by file
/// name, a later folder's file replacing an earlier folder's file of the same name.
pub fn drop_in_files(dirs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut by_name = BTreeMap::new();
    for dir in dirs {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("failed to list {}", dir.display())),
        };
        for entry in entries {
            let entry = entry.with_context(|| format!("failed to list {}", dir.display()))?;
            let raw = entry.file_name();
            let Some(name) = raw.to_str() else {
                // A lossy name would merge two files whose names differ only in the bytes
                // that are not UTF-8, and drop one of them without a word.
                let lossy = raw.to_string_lossy();
                if lossy.ends_with(".toml") && !lossy.starts_with('.') {
                    return Err(anyhow!(
                        "configuration file {:?} in {} has a name that is not UTF-8; rename it (drop-in names must be UTF-8 to be ordered)",
                        raw,
                        dir.display()
                    ));
                }
                continue;
            };
            if name.ends_with(".toml") && !name.starts_with('.') {
                by_name.insert(name.to_string(), entry.path());
            }
        }
    }
    Ok(by_name.into_values().collect())
}

/// Reads the given files as fragments: each must be a regular file (not a FIFO or a
/// device) of at most [`CONFIG_LIMIT`] bytes of UTF-8.
pub fn read_files(files: &[PathBuf]) -> Result<Vec<Fragment>> {
    files
        .iter()
        .map(|path| {
            let bytes = read_regular(path, CONFIG_LIMIT)?;
            let text = String::from_utf8(bytes).map_err(|_| {
                anyhow!(
                    "configuration file {} is not UTF-8 text; save it as UTF-8 TOML",
                    path.display()
                )
            })?;
            Ok(Fragment {
                origin: path.display().to_string(),
                text,
            })
        })
        .collect()
}

/// Merged configuration plus, for every leaf key, the origin of the fragment that set it.
#[derive(Debug, Default, Clone)]
pub struct Merged {
    /// The merged TOML table.
    pub table: Table,
    /// Dotted key -> origin of the value in `table`.
    pub origins: BTreeMap<String, String>,
}

impl Merged {
    /// Checks `fragment` against the schema and merges it over what is there.
    ///
    /// Each fragment is checked on its own so that an unknown key or a wrong type is
    /// reported with the file it is in, not with the merge result.
    pub fn add(&mut self, fragment: &Fragment) -> Result<()> {
        let table = parse_checked(fragment)?;
        merge_table(
            &mut self.table,
            table,
            "",
            &fragment.origin,
            &mut self.origins,
        );
        Ok(())
    }

    /// The origin of a dotted key, or "built-in default" when nothing set it.
    pub fn origin_of(&self, key: &str) -> &str {
        self.origins
            .get(key)
            .map(String::as_str)
            .unwrap_or("built-in default")
    }
}

fn parse_checked(fragment: &Fragment) -> Result<Table> {
    let origin = &fragment.origin;
    let table: Table = fragment
        .text
        .parse()
        .map_err(|e: toml::de::Error| anyhow!("{origin}: {}", describe(&fragment.text, &e)))?;
    // The schema check runs on the parsed table, so the text is parsed once (twice was
    // about 20 ms of a first boot under TCG, 00-defaults.toml being 23 KB). Only a fragment
    // that fails it is read again, by toml's deserializer, whose error has a line and
    // column. A date anywhere goes that way too: the table's deserializer hands a date to
    // a string key as text, where the text's refuses it (no key takes a date).
    let fits = !has_date(&table)
        && toml::Value::Table(table.clone())
            .try_into::<Config>()
            .is_ok();
    if fits {
        return Ok(table);
    }
    let de = toml::Deserializer::new(&fragment.text);
    match serde_path_to_error::deserialize::<_, Config>(de) {
        Err(e) => {
            let key = e.path().to_string();
            let inner = e.into_inner();
            Err(anyhow!(
                "{origin}: key `{key}`: {}",
                describe(&fragment.text, &inner)
            ))
        }
        // Not expected (both read the same text the same way). The table's error is not
        // quoted: serde's messages can quote a value, and a value can be a secret.
        Ok(_) => {
            tracing::debug!("{origin}: the table's schema check refused what the text's took");
            Err(anyhow!(
                "{origin}: does not match the configuration schema; compare its keys and value types with /usr/lib/meet-agent/config.d/00-defaults.toml"
            ))
        }
    }
}

/// Whether a date or time is anywhere in `table`.
fn has_date(table: &Table) -> bool {
    fn in_value(value: &toml::Value) -> bool {
        match value {
            toml::Value::Datetime(_) => true,
            toml::Value::Array(items) => items.iter().any(in_value),
            toml::Value::Table(table) => has_date(table),
            _ => false,
        }
    }
    table.values().any(in_value)
}

/// toml's message with a line and column, but without its snippet of the file: the
/// snippet could quote an inline private key.
fn describe(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim_end().replace('\n', "; ");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

fn merge_table(
    into: &mut Table,
    from: Table,
    prefix: &str,
    origin: &str,
    origins: &mut BTreeMap<String, String>,
) {
    for (key, value) in from {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (into.get_mut(&key), value) {
            (Some(Value::Table(existing)), Value::Table(new)) => {
                merge_table(existing, new, &path, origin, origins);
            }
            (_, value) => {
                record_origins(&value, &path, origin, origins);
                into.insert(key, value);
            }
        }
    }
}

fn record_origins(value: &Value, path: &str, origin: &str, origins: &mut BTreeMap<String, String>) {
    origins.insert(path.to_string(), origin.to_string());
    if let Value::Table(table) = value {
        for (key, value) in table {
            record_origins(value, &format!("{path}.{key}"), origin, origins);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fragment(text: &str) -> Fragment {
        Fragment {
            origin: "test.toml".into(),
            text: text.into(),
        }
    }

    /// Whether toml's deserializer, reading the text as the check did before it read the
    /// parsed table, takes `text`.
    fn text_takes(text: &str) -> bool {
        serde_path_to_error::deserialize::<_, Config>(toml::Deserializer::new(text)).is_ok()
    }

    #[test]
    fn the_check_on_the_parsed_table_takes_exactly_what_the_text_check_takes() {
        // Keys of every kind of type the schema has, each given a value of every TOML type.
        let keys = [
            ("[server]", "domain"),              // string
            ("[tune]", "bandwidth_mbit"),        // integer
            ("[updates]", "first_boot"),         // boolean
            ("[source]", "provider"),            // enum
            ("[access]", "ssh_authorized_keys"), // array of strings
            ("[jitsi]", "jwt_app_secret"),       // secret
            ("[tls]", "acme"),                   // table
            ("[server]", "no_such_key"),         // unknown
            ("[jitsi.turn]", "port"),            // u16
            ("[sip]", "dial_in_numbers"),        // map of arrays
            // a secret in an array of tables
            (
                "[[dns.update]]\ntype = \"url\"\nurl = \"http://127.0.0.1:1/\"",
                "password",
            ),
        ];
        let values = [
            "\"auto\"",
            "\"meet.example.org\"",
            "0",
            "-1",
            "1.5",
            "true",
            "1987-06-05T04:32:10Z",
            "1987-06-05",
            "04:32:10",
            "[]",
            "[\"ssh-ed25519 AAAA a@b\"]",
            "[1987-06-05]",
            "{}",
            "{ x = 1 }",
            "{ directory = \"https://127.0.0.1/dir\" }",
            "70000",
            "nan",
            "inf",
            "{ auto = {} }",
            "{ US = [\"+1 555 0100\"] }",
        ];
        let mut taken = 0;
        for (section, key) in keys {
            for value in values {
                let text = format!("{section}\n{key} = {value}\n");
                let ours = parse_checked(&fragment(&text));
                assert_eq!(ours.is_ok(), text_takes(&text), "{text}: {ours:?}");
                taken += usize::from(ours.is_ok());
                // A refusal names the key and where it is, as the text check's did.
                if let Err(e) = ours {
                    let e = format!("{e:#}");
                    assert!(e.contains(key) && e.contains("line "), "{text}: {e}");
                }
            }
        }
        // Both kinds of answer were exercised.
        assert!(taken > 3 && taken < keys.len() * values.len(), "{taken}");
        let defaults = include_str!("../../../image/config/00-defaults.toml");
        assert!(parse_checked(&fragment(defaults)).is_ok() && text_takes(defaults));
    }
}
