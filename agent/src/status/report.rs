//! The report's shape: what `meet-agent status --json` prints (docs/status.md) and the
//! text rendering reads.

use crate::state::StepState;
use crate::systemd::UnitStatus;
use crate::tls::CertSummary;
use crate::vocab::Role;
use serde::Serialize;

/// Version of the JSON shape; bumped only on incompatible changes.
pub const SCHEMA: u32 = 1;

/// Overall health, which is also the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Health {
    /// Every step ok or not configured, certificate installed, no service failed (exit 0).
    Healthy,
    /// Serving, but something is short of right (exit 1).
    Degraded,
    /// A step failed or the configuration is broken (exit 2).
    Failed,
    /// `meet-agent run` has not run on this machine (exit 2).
    NotRun,
}

impl Health {
    /// The documented exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Health::Healthy => 0,
            Health::Degraded => 1,
            Health::Failed | Health::NotRun => 2,
        }
    }

    /// The word status shows for it.
    pub fn word(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Degraded => "degraded",
            Health::Failed => "failed",
            Health::NotRun => "not run",
        }
    }
}

/// One step as status shows it.
#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    /// Step name.
    pub name: &'static str,
    /// `ok`, `degraded`, `failed`, `pending` or `not-configured`.
    pub state: StepState,
    /// One line for the operator.
    pub message: String,
    /// Whether it runs once per instance.
    pub once_per_instance: bool,
    /// When it last started.
    pub started_at: Option<String>,
    /// How long it took.
    pub duration_ms: Option<u64>,
    /// The last error until the step succeeds again.
    pub last_error: Option<String>,
}

/// The certificate as installed.
#[derive(Debug, Clone, Serialize)]
pub struct CertificateView {
    /// Path of the installed chain.
    pub path: String,
    /// What it says, if it parses.
    #[serde(flatten)]
    pub summary: Option<CertSummary>,
    /// Why it could not be read.
    pub error: Option<String>,
}

/// systemd's view of the stack.
#[derive(Debug, Clone, Serialize)]
pub struct ServicesView {
    /// Whether the system bus answered.
    pub available: bool,
    /// Why not, when it did not.
    pub error: Option<String>,
    /// Each stack unit.
    pub units: Vec<UnitStatus>,
}

/// What the image build recorded about itself.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ImageInfo {
    /// Target system, e.g. `debian 12`.
    pub os: String,
    /// Whether Jitsi's apt repository was used (`on`/`off`).
    pub jitsi_repository: String,
    /// Jitsi packages the image lacks (an offline build has none of them).
    pub missing_packages: Vec<String>,
    /// The image's kind: `all` (every role but recording) or `recorder` (jibri's runtime
    /// and a kernel with snd-aloop); images built before the field existed are `all`.
    #[serde(default = "ImageInfo::default_role")]
    pub role: String,
    /// When the image was built.
    pub built_at: String,
}

impl ImageInfo {
    fn default_role() -> String {
        "all".into()
    }
}

/// The whole report (the `--json` shape).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Shape version.
    pub schema: u32,
    /// Overall health.
    pub health: Health,
    /// Why the health is not `healthy`, one sentence each.
    pub reasons: Vec<String>,
    /// When `run` last started.
    pub last_run_at: Option<String>,
    /// Why the last run could not start its steps.
    pub run_error: Option<String>,
    /// The image this machine was made from, when it was built by our image build.
    pub image: Option<ImageInfo>,
    /// Identity (domain, addresses, instance) from the last identity step.
    pub identity: Option<crate::state::Identity>,
    /// The installed certificate.
    pub certificate: Option<CertificateView>,
    /// The per-instance secrets: whose they are and their fingerprints (never the values).
    pub secrets: Option<SecretsView>,
    /// Every step in pipeline order.
    pub steps: Vec<StepView>,
    /// The stack's services.
    pub services: ServicesView,
    /// Shutdown, idle clock and pending reboot.
    pub operations: OperationsView,
    /// In a deployment of several machines (`server.role` other than `all`): the bridges
    /// a signaling node's jicofo sees, or whether this bridge has joined.
    pub deployment: Option<DeploymentView>,
    /// Phones in meetings: this machine's jigasi and the SIP gateways jicofo sees, where
    /// either is configured.
    pub sip: Option<SipView>,
}

/// A machine's part in a deployment.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentView {
    /// `signaling` or `videobridge`.
    pub role: Role,
    /// On a bridge: its own REST API's `/colibri/stats` (loopback).
    pub bridge: Option<crate::jitsi::videobridge_api::Stats>,
    /// On a signaling node: jicofo's `/stats` `bridge_selector` (loopback), and each
    /// bridge from its `/debug`.
    pub bridges: Option<BridgesSeen>,
    /// On a bridge: what its signaling node's XMPP port presents, checked against the join
    /// token's certificate (see [`crate::bridge::probe`]).
    pub signaling: Option<crate::bridge::probe::Probe>,
    /// Why the numbers are missing.
    pub error: Option<String>,
    /// On a bridge of an Auto Scaling group: what meet-agent-scale.service last did.
    pub scaling: Option<crate::scale::service::Report>,
    /// On a signaling node: jicofo's `/about/health`, `null` when healthy or not asked
    /// (jicofo did not answer `/stats`), else what it said.
    pub jicofo_unhealthy: Option<String>,
    /// On a signaling node: the recorders jicofo sees in JibriBrewery.
    pub recorders: Option<RecordersSeen>,
    /// On a recorder: what jibri says of itself, and the recording it is writing.
    pub recorder: Option<RecorderView>,
}

/// The recorders jicofo sees, as its `/stats` counts them and its `/debug` lists them.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct RecordersSeen {
    /// Recorders in JibriBrewery.
    pub count: u64,
    /// Of those, the ones idle and healthy (jicofo picks only those).
    pub available: u64,
    /// Each recorder, from jicofo's `/debug` (empty when that did not answer).
    #[serde(skip_deserializing)]
    pub list: Vec<crate::jitsi::jicofo_api::SeenRecorder>,
}

/// A recorder's own state.
#[derive(Debug, Clone, Serialize)]
pub struct RecorderView {
    /// jibri's health API's answer.
    pub jibri: Option<crate::jitsi::jibri_api::Health>,
    /// Why jibri did not answer.
    pub jibri_error: Option<String>,
    /// The recording being written now (jibri's spool), if any.
    pub recording: Option<crate::recording::spool::InProgress>,
    /// The disk guard's last verdict (`meet-agent recording guard`), if it ran.
    pub guard: Option<crate::recording::guard::GuardState>,
}

/// The bridges jicofo sees, as its `/stats` counts them and its `/debug` lists them.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct BridgesSeen {
    /// Bridges in the brewery.
    pub bridge_count: u64,
    /// Of those, the ones jicofo may use.
    pub operational_bridge_count: u64,
    /// Of those, the ones shutting down.
    pub in_shutdown_bridge_count: u64,
    /// Each bridge, from jicofo's `/debug` (empty when that did not answer).
    #[serde(skip_deserializing)]
    pub list: Vec<crate::jitsi::jicofo_api::SeenBridge>,
    /// Why `list` is empty although bridges are counted: `/debug` did not answer.
    #[serde(skip_deserializing)]
    pub list_error: Option<String>,
}

/// How far collecting the report may look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Everything `meet-agent status` shows, including the probe of the signaling node
    /// (another machine) and jicofo's per-bridge `/debug` answer.
    Full,
    /// This machine's own state and loopback counters only: the console banner a run
    /// writes while holding the run lock must not wait on another machine or make jicofo
    /// serialise every conference.
    Local,
}

/// What the operations commands last reported.
#[derive(Debug, Clone, Serialize)]
pub struct OperationsView {
    /// A shutdown or reboot in progress or given up (not one already requested).
    pub shutdown: Option<crate::ops::shutdown::Progress>,
    /// The idle clock of this boot, when idle shutdown is on.
    pub idle: Option<crate::ops::idle::IdleState>,
    /// Whether the system says a reboot is required (/run/reboot-required).
    pub reboot_required: bool,
}

/// The per-instance secrets as status shows them.
#[derive(Debug, Clone, Serialize)]
pub struct SecretsView {
    /// The instance they were made for.
    pub instance_id: Option<String>,
    /// Name -> `sha256:` and 16 hex digits of the value's digest.
    pub fingerprints: std::collections::BTreeMap<&'static str, String>,
}

/// What the command already read that status needs: this machine's facts (its boot id) and
/// the drop-ins' digest (whether this boot's effective.json still describes them).
#[derive(Clone, Copy)]
pub struct Seen<'a> {
    /// This machine's facts.
    pub facts: &'a dyn crate::host::HostFacts,
    /// [`crate::config::Local::digest`].
    pub drop_ins: &'a str,
}

/// This machine's jigasi.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayView {
    /// The SIP server its account registers at (from its file).
    pub server: Option<String>,
    /// What jigasi said, if it answered.
    pub jigasi: Option<crate::jitsi::jigasi_api::Gateway>,
    /// Why it did not answer.
    pub error: Option<String>,
    /// The registrar's last refusal in jigasi's log, when not registered.
    pub registrar_said: Option<String>,
}

/// The SIP gateways jicofo sees (`/stats` `jigasi_detector`, jicofo 7ebb13dc
/// JigasiDetector's metrics).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct GatewaysSeen {
    /// Gateways in JigasiBrewery that offer SIP.
    pub sip_count: u64,
    /// Of those, the ones shutting down.
    pub sip_in_graceful_shutdown_count: u64,
}

/// The phones part.
#[derive(Debug, Clone, Serialize)]
pub struct SipView {
    /// jigasi on this machine, when it runs here.
    pub gateway: Option<GatewayView>,
    /// The gateways jicofo sees, when it watches for them and answered.
    pub seen: Option<GatewaysSeen>,
    /// Dial-in, when this site serves it.
    pub dial_in: Option<DialInView>,
}

/// Dial-in on this site: the numbers shown and whether the PIN service answers.
#[derive(Debug, Clone, Serialize)]
pub struct DialInView {
    /// How many numbers the invite dialog shows.
    pub numbers: usize,
    /// Why the PIN service does not answer, if it does not.
    pub pin_service_error: Option<String>,
}
