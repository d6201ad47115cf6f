//! What this machine is: what its instance source reported ([`InstanceData`]) and the
//! addresses and size the identity step settled ([`Identity`]). Sources produce the first,
//! the pipeline the second, and renderers, the state file and status read them.

use crate::vocab::Fragment;
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, Ipv6Addr};

/// What a provider reports about this instance.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InstanceData {
    /// The provider's name (`ec2`, `gce`, `lxd`, `config-disk`, `fw-cfg`, `none`).
    pub provider: String,
    /// The provider's id for this instance, if it has one.
    pub instance_id: Option<String>,
    /// The instance type or size name (EC2 instance type, LXD instance type).
    pub instance_type: Option<String>,
    /// Public IPv4 as the provider knows it.
    pub public_ipv4: Option<Ipv4Addr>,
    /// Private IPv4 as the provider knows it.
    pub local_ipv4: Option<Ipv4Addr>,
    /// IPv6 as the provider knows it.
    pub ipv6: Option<Ipv6Addr>,
    /// The provider's region (EC2's `placement/region`, Compute Engine's zone without its
    /// letter): the bridge's relay region and jicofo's local region when `bridge.region`
    /// is not set, so bridges in one region of a deployment group together by themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The public key of the instance's key pair (EC2's `public-keys/0/openssh-key`), as
    /// the provider gave it; the access step checks it before use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_pair: Option<String>,
    /// What the provider's user-data held that is cloud-init's and was left alone, one
    /// sentence for status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data_note: Option<String>,
    /// Our TOML, if the provider carries some.
    #[serde(skip)]
    pub config: Option<Fragment>,
}

/// Addresses and size of this machine, as the identity step settled them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Identity {
    /// The configured domain.
    pub domain: Option<String>,
    /// Public IPv4 and where it came from.
    pub public_ipv4: Option<Ipv4Addr>,
    /// `config`, the provider's name, or `interface`.
    pub public_ipv4_source: Option<String>,
    /// Private IPv4.
    pub local_ipv4: Option<Ipv4Addr>,
    /// Public IPv6.
    pub public_ipv6: Option<Ipv6Addr>,
    /// Where the IPv6 address came from.
    pub public_ipv6_source: Option<String>,
    /// What the provider said.
    pub instance: InstanceData,
    /// Online CPUs.
    pub cpus: usize,
    /// Total memory in MiB.
    pub memory_mib: u64,
}

impl Identity {
    /// One line of addresses, each public one with where it came from, as the identity step
    /// and `status` show them.
    pub fn addresses(&self) -> String {
        fn with_source(ip: Option<String>, from: &Option<String>) -> String {
            match (ip, from) {
                (Some(ip), Some(from)) => format!("{ip} (from {from})"),
                (Some(ip), None) => ip,
                (None, _) => "none".into(),
            }
        }
        format!(
            "public IPv4 {}, local IPv4 {}, IPv6 {}",
            with_source(
                self.public_ipv4.map(|i| i.to_string()),
                &self.public_ipv4_source
            ),
            self.local_ipv4.map_or("none".into(), |i| i.to_string()),
            with_source(
                self.public_ipv6.map(|i| i.to_string()),
                &self.public_ipv6_source
            ),
        )
    }
}
