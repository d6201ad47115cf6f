//! `ssm:NAME` values: on AWS the join token and the signaling node's key need not sit in
//! plain user-data. `bridge.join = "ssm:/ryo-jitsi/join"` (and `bridge.auth_key`) names an
//! SSM Parameter Store SecureString, read with the instance role's credentials (IMDSv2)
//! (and `sip.password`) and decrypted by SSM before the configuration is validated. The value then counts as
//! set by the same file, with the parameter's name in its origin.

use super::provider::SourceOptions;
use crate::aws::api::{Aws, Endpoints};
use crate::aws::imds::Imds;
use crate::config::fragments::Merged;
use anyhow::{anyhow, Result};
use std::sync::Arc;
use std::time::Duration;

/// The keys whose values may name an SSM parameter.
pub const KEYS: [(&str, &str); 3] = [
    ("bridge", "join"),
    ("bridge", "auth_key"),
    ("sip", "password"),
];

/// The prefix naming a parameter.
pub const PREFIX: &str = "ssm:";

/// Replaces every `ssm:NAME` value of [`KEYS`] in `merged` with the parameter's value,
/// asking AWS where the local configuration (`opts`) says, in `region` (the instance
/// source's) or else the one the instance metadata names. Without such a value nothing is
/// asked of AWS.
pub async fn resolve(
    merged: &mut Merged,
    opts: &SourceOptions,
    region: Option<&str>,
) -> Result<()> {
    let wanted: Vec<(&str, &str, String)> = KEYS
        .iter()
        .filter_map(|(table, key)| {
            let value = merged.table.get(*table)?.as_table()?.get(*key)?.as_str()?;
            value
                .strip_prefix(PREFIX)
                .map(|name| (*table, *key, name.trim().to_string()))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let timeout = Duration::from_secs(10);
    let imds = Arc::new(Imds::new(&opts.ec2_endpoint, timeout)?);
    let (first_table, first_key, first_name) = &wanted[0];
    let first = format!("{first_table}.{first_key}");
    let first_origin = merged.origin_of(&first).to_string();
    let region = match region {
        Some(region) => region.to_string(),
        None => {
            imds.region().await.map_err(|why| {
                anyhow!(
                    "{first_origin}: key `{first}`: ssm:{first_name} is read with the instance role on EC2, and the instance metadata did not say the region ({why}); give the token itself outside EC2"
                )
            })?
        }
    };
    let endpoints = match &opts.aws_endpoint {
        Some(base) => Endpoints::same(base),
        None => Endpoints::for_region(&region),
    };
    let aws = Aws::new(&region, endpoints, imds, timeout)?;
    for (table, key, name) in wanted {
        let dotted = format!("{table}.{key}");
        let origin = merged.origin_of(&dotted).to_string();
        if name.is_empty() || name.len() > 2048 {
            return Err(anyhow!(
                "{origin}: key `{dotted}`: `ssm:` needs a parameter name such as ssm:/ryo-jitsi/join"
            ));
        }
        let value = aws.get_parameter(&name).await.map_err(|e| {
            anyhow!(
                "{origin}: key `{dotted}`: SSM parameter {name} could not be read ({e}); check its name, the region {region} and that the instance role may ssm:GetParameter it"
            )
        })?;
        if let Some(t) = merged.table.get_mut(table).and_then(|t| t.as_table_mut()) {
            t.insert(key.to_string(), toml::Value::String(value));
        }
        merged
            .origins
            .insert(dotted, format!("{origin} (SSM parameter {name})"));
    }
    Ok(())
}
