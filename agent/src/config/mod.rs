//! Configuration: fragments (drop-in files and instance data) -> merged table -> validated
//! [`Settings`]. Nothing is acted on until validation has produced typed settings.

pub mod fragments;

pub mod schema;

mod validate;
mod validate_dns;
pub mod validate_roles;
mod validate_tls;

pub(crate) use validate::check_url;

pub use crate::redact::Redactor;
pub use fragments::{Fragment, Merged};
pub use schema::{Config, ProviderChoice, SecretMaterial};
pub use validate::{check_calendars, check_fqdn as check_domain, Calendar, Settings, TlsSupplied};
pub use validate_tls::check_supplied;

use crate::paths::Paths;
use anyhow::{anyhow, Result};

/// Reads and merges the drop-in folders below `paths` (no instance source).
pub fn load_local(paths: &Paths) -> Result<Merged> {
    let files = fragments::drop_in_files(&paths.config_dirs())?;
    let mut merged = Merged::default();
    for fragment in fragments::read_files(&files)? {
        merged.add(&fragment)?;
    }
    Ok(merged)
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
