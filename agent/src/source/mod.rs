//! Instance sources: where a booted machine learns who it is.
//!
//! Each provider takes its endpoint or root path in its constructor; [`detect`] is the one
//! place that decides which applies. A provider that is present but broken is an error,
//! never a silent fallback to another provider.

pub mod common;
pub mod config_disk;
pub mod ec2;
pub mod fw_cfg;
pub mod gce;
pub mod lxd;
pub mod provider;
pub mod ssm;
pub mod user_data;

pub use crate::identity::InstanceData;
pub use common::{config_fragment, region_name, InstanceSource};
pub use provider::{detect, Provider, SourceOptions};
