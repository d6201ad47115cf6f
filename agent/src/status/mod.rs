//! `meet-agent status`: is this server good, and if not, why. One screen for people, a
//! stable JSON shape (docs/status.md) for machines. [`collect`] gathers the report,
//! [`deployment`] a deployment's part of it, [`health`] judges it, [`render`] shows it.

pub mod collect;
pub mod deployment;
pub mod health;
pub mod render;
pub mod report;
pub mod sip;

pub use collect::collect_over;
pub use render::{render, render_brief};
pub use report::{
    BridgesSeen, CertificateView, DeploymentView, Health, ImageInfo, OperationsView, Reach, Report,
    SecretsView, Seen, ServicesView, StepView, SCHEMA,
};
