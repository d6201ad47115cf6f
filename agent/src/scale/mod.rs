//! A videobridge or a recorder in an AWS Auto Scaling group: publish its load as the
//! scaling signal ([`metrics`]) and leave the group without cutting meetings or recordings
//! ([`drain`]), talking to the bridge's or jibri's loopback API ([`workload`]).
//!
//! Wiring ([`service`], `meet-agent scale` as meet-agent-scale.service, which the start
//! step runs on a videobridge with `bridge.drain_hook`): a long-running service (not the
//! first-boot oneshot) builds an
//! [`crate::aws::imds::Imds`], an [`crate::aws::api::Aws`] for the region, a
//! [`crate::jitsi::videobridge_api::Bridge`] on [`crate::jitsi::videobridge_api::local_base`], and then runs
//! [`metrics::Publisher::tick`] every few seconds (it sends at most once a minute) and
//! [`drain::Runner::run`] until it powers off. The lifecycle hook's name comes from
//! configuration, its timeouts from Auto Scaling ([`drain::hook_bounds`]); the group name
//! from the instance tags in metadata. Status shows [`metrics::Outcome`] and [`drain::Decision`].

pub mod drain;
pub mod metrics;
pub mod service;
pub mod workload;
