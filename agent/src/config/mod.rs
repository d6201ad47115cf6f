//! Configuration: fragments (drop-in files and instance data) -> merged table -> validated
//! [`Settings`]. Nothing is acted on until validation has produced typed settings.

pub mod fragments;
pub mod schema;

mod validate;
mod validate_dns;
mod validate_recording;
pub mod validate_roles;
mod validate_sip;
mod validate_tls;

pub(crate) use validate::check_url;

pub use crate::redact::Redactor;
pub use fragments::{Fragment, Merged};
pub use schema::{Config, ProviderChoice, SecretMaterial};
pub use validate::{check_calendars, check_fqdn as check_domain, Calendar, Settings, TlsSupplied};
pub use validate_tls::check_supplied;

use crate::paths::Paths;
use anyhow::{anyhow, Result};

/// The drop-in folders, read once per command: what every later stage (the host facts
/// file, the instance source's choice, the merge with instance data, effective.json's
/// freshness check) works from.
#[derive(Debug)]
pub struct Local {
    /// Digest of the files' names and contents in merge order: effective.json records it,
    /// so an operator's edit since the run is noticed.
    pub digest: String,
    /// The files checked and merged, or why one of them cannot be used.
    pub merged: Result<Merged>,
    /// Their `[source]` section, deserialized on its own (see [`Local::source`]).
    source: Result<schema::Source>,
}

/// Reads the drop-in folders below `paths` (no instance source). What cannot be used (a
/// file that cannot be read, does not parse or fails the schema) is kept in
/// [`Local::merged`] for the command to report; the digest stands whenever the files could
/// be read, so that effective.json's freshness and the host facts never depend on it.
pub fn load_local(paths: &Paths) -> Local {
    let read = fragments::drop_in_files(&paths.config_dirs())
        .and_then(|files| fragments::read_files(&files));
    match read {
        Ok(read) => {
            let mut merged = Merged::default();
            let merged = read
                .iter()
                .try_for_each(|fragment| merged.add(fragment))
                .map(|()| merged);
            let source = section_source(&merged);
            Local {
                digest: digest(&read),
                merged,
                source,
            }
        }
        Err(e) => Local {
            // Matches no saved digest: the commands load (and report) for themselves.
            digest: String::new(),
            source: Err(anyhow!("{e:#}")),
            merged: Err(e),
        },
    }
}

/// A digest of fragments' origins and texts, in merge order.
fn digest(fragments: &[Fragment]) -> String {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for fragment in fragments {
        for part in [fragment.origin.as_bytes(), fragment.text.as_bytes()] {
            context.update(&(part.len() as u64).to_le_bytes());
            context.update(part);
        }
    }
    format!("sha256:{}", crate::encoding::hex(context.finish().as_ref()))
}

impl Local {
    /// The merged drop-ins, or the error that names the file that cannot be used.
    pub fn merged(&self) -> Result<&Merged> {
        self.merged.as_ref().map_err(|e| anyhow!("{e:#}"))
    }

    /// The `[source]` section of the drop-ins alone, deserialized once on its own: where
    /// instance data and host facts come from is never instance data's own choice.
    pub fn source(&self) -> Result<&schema::Source> {
        self.source.as_ref().map_err(|e| anyhow!("{e:#}"))
    }
}

/// The `[source]` section of `merged`, with its endpoint keys and the host facts path
/// checked, naming the file.
fn section_source(merged: &Result<Merged>) -> Result<schema::Source> {
    let merged = merged.as_ref().map_err(|e| anyhow!("{e:#}"))?;
    let source: schema::Source = match merged.table.get("source") {
        Some(table) => table.clone().try_into().map_err(|e| {
            anyhow!("local configuration's [source] does not match the schema: {e}")
        })?,
        None => schema::Source::default(),
    };
    for (key, endpoint) in [
        ("source.ec2_endpoint", Some(&source.ec2_endpoint)),
        ("source.gce_endpoint", Some(&source.gce_endpoint)),
        ("source.aws_endpoint", source.aws_endpoint.as_ref()),
    ] {
        let Some(endpoint) = endpoint else { continue };
        check_url(endpoint)
            .map_err(|reason| anyhow!("{}: key `{key}`: {reason}", merged.origin_of(key)))?;
    }
    if let Some(file) = &source.host_facts {
        if !file.starts_with('/') {
            let key = "source.host_facts";
            return Err(anyhow!(
                "{}: key `{key}`: `{file}` is not an absolute path; name the facts file from /",
                merged.origin_of(key)
            ));
        }
    }
    Ok(source)
}

/// Turns a merged table into the typed, checked configuration.
pub fn finish(merged: &Merged) -> Result<(Config, Settings)> {
    // Every fragment already passed the schema check, so this only fails on a bug; still,
    // report it rather than panic.
    let config: Config = toml::Value::Table(merged.table.clone())
        .try_into()
        .map_err(|e| anyhow!("merged configuration does not match the schema: {e}"))?;
    let settings = validate::validate(&config, merged)?;
    Ok((config, settings))
}

/// The merged config as TOML with every secret redacted, for `config show`.
pub fn show(config: &Config) -> Result<String> {
    Ok(toml::to_string_pretty(config)?)
}
