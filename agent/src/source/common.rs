//! What every instance source shares: the trait a provider implements, and the checks of
//! the configuration text and region name a provider hands on.

use crate::identity::InstanceData;
use crate::vocab::Fragment;
use anyhow::Result;

/// A place instance data comes from.
pub trait InstanceSource {
    /// The provider's name, as shown in status.
    fn name(&self) -> &'static str;
    /// Fetches everything this provider knows.
    fn fetch(&self) -> impl std::future::Future<Output = Result<InstanceData>>;
}

/// Turns raw instance configuration bytes (maybe gzip) into a fragment named `origin`.
pub fn config_fragment(origin: &str, bytes: Vec<u8>) -> Result<Fragment> {
    let bytes = crate::encoding::maybe_gunzip(bytes, crate::fsutil::CONFIG_LIMIT).map_err(|e| {
        anyhow::anyhow!("{origin}: {e:#}; instance configuration is limited to 1 MiB")
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!(
            "{origin}: not UTF-8 text; it must be meet-agent TOML, optionally gzip-compressed"
        )
    })?;
    Ok(Fragment {
        origin: origin.to_string(),
        text,
    })
}

/// A region name from a metadata service, if it is one
/// ([`crate::well_formed::is_region_name`], as `bridge.region` must be): it ends up quoted in jvb.conf and jicofo.conf, so
/// anything else is dropped with a warning rather than trusted.
pub fn region_name(provider: &str, value: Option<String>) -> Option<String> {
    let value = value?;
    if !crate::well_formed::is_region_name(&value) {
        tracing::warn!(
            "{provider} metadata gave the region `{}`, which is not a region name; relays use bridge.region or \"{}\"",
            value.escape_debug(),
            crate::vocab::ports::DEFAULT_REGION
        );
        return None;
    }
    Some(value)
}
