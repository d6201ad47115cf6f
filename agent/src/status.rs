//! `meet-agent status`: is this server good, and if not, why. One screen for people, a
//! stable JSON shape (docs/status.md) for machines.

use crate::paths::Paths;
use crate::pipeline::StepName;
use crate::state::{State, StepState};
use crate::systemd::{UnitStatus, STACK_UNITS};
use crate::tls::{self, CertSummary};
use serde::Serialize;
use std::fmt::Write as _;

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

    fn word(self) -> &'static str {
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
    /// When the image was built.
    pub built_at: String,
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
}

/// A machine's part in a deployment.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentView {
    /// `signaling` or `videobridge`.
    pub role: &'static str,
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

/// The deployment part of the report, from the role of this boot's effective
/// configuration; `None` on a single machine (or before a run).
async fn deployment(paths: &Paths, seen: Seen<'_>, reach: Reach) -> Option<DeploymentView> {
    use crate::vocab::Role;
    let role = match crate::effective::load(paths, seen.facts, seen.drop_ins) {
        Ok(crate::effective::Found::Current(saved)) => saved.operations.role,
        _ => return None,
    };
    let timeout = std::time::Duration::from_secs(2);
    match role {
        Role::All => None,
        Role::Videobridge => {
            let stats = async {
                match crate::jitsi::videobridge_api::Bridge::local(timeout) {
                    Ok(b) => b.stats().await.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                }
            };
            // Both at once: the probe may wait its whole bound on a dropping firewall.
            let probe = async {
                if reach == Reach::Local {
                    return None;
                }
                Some(match crate::bridge::probe::target(paths) {
                    Ok(t) => crate::bridge::probe::probe(&t, crate::bridge::probe::TIMEOUT).await,
                    Err(e) => crate::bridge::probe::Probe::unknown(format!(
                        "cannot check the signaling node: {e}"
                    )),
                })
            };
            let (answer, signaling) = tokio::join!(stats, probe);
            Some(match answer {
                Ok(st) => DeploymentView {
                    role: role.as_str(),
                    bridge: Some(st),
                    bridges: None,
                    signaling,
                    error: None,
                    scaling: crate::fsutil::read_json(&paths.scale_file()),
                    jicofo_unhealthy: None,
                },
                Err(e) => DeploymentView {
                    role: role.as_str(),
                    bridge: None,
                    bridges: None,
                    signaling,
                    error: Some(e),
                    scaling: crate::fsutil::read_json(&paths.scale_file()),
                    jicofo_unhealthy: None,
                },
            })
        }
        Role::Signaling => {
            let answer = async {
                let jicofo = crate::jitsi::jicofo_api::Jicofo::new(
                    &crate::jitsi::jicofo_api::local_base(),
                    timeout,
                )?;
                let body = jicofo.stats().await.map_err(|e| e.to_string())?;
                let mut seen =
                    serde_json::from_value::<BridgesSeen>(body["bridge_selector"].clone())
                        .map_err(|e| {
                            format!("jicofo at {}: no bridge_selector ({e})", jicofo.stats_url())
                        })?;
                // jicofo's own verdict (cached by jicofo, cheap): in the banner too.
                let health = jicofo.health().await.err();
                // Each bridge's state is only in /debug; without it the counts still stand.
                if reach == Reach::Local {
                    return Ok((seen, health));
                }
                match jicofo.bridges().await {
                    Ok(list) => seen.list = list,
                    Err(e) => seen.list_error = Some(e),
                }
                Ok((seen, health))
            }
            .await;
            Some(match answer {
                Ok((seen, health)) => DeploymentView {
                    role: role.as_str(),
                    bridge: None,
                    bridges: Some(seen),
                    signaling: None,
                    error: None,
                    scaling: None,
                    jicofo_unhealthy: health,
                },
                Err(e) => DeploymentView {
                    role: role.as_str(),
                    bridge: None,
                    bridges: None,
                    signaling: None,
                    error: Some(e),
                    scaling: None,
                    jicofo_unhealthy: None,
                },
            })
        }
    }
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

fn operations(paths: &Paths, facts: &dyn crate::host::HostFacts) -> OperationsView {
    let boot = facts.boot_id();
    OperationsView {
        shutdown: crate::ops::shutdown::load(paths).filter(|p| p.state != "requested"),
        idle: crate::ops::idle::load(paths).filter(|i| i.boot_id == boot),
        reboot_required: paths.join(crate::pipeline::REBOOT_REQUIRED).exists(),
    }
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

/// Builds the report from the state file, the installed certificate and systemd (asked
/// over `bus`), looking only as far as `reach`.
pub async fn collect_over(
    paths: &Paths,
    seen: Seen<'_>,
    bus: &mut crate::apply::Bus,
    reach: Reach,
) -> anyhow::Result<Report> {
    let state = State::load(&paths.state_file())?;
    let steps: Vec<StepView> = StepName::ALL
        .iter()
        .map(|step| match state.steps.get(step.as_str()) {
            Some(r) => StepView {
                name: step.as_str(),
                state: r.state,
                message: r.message.clone(),
                once_per_instance: step.once_per_instance(),
                started_at: Some(r.started_at.clone()),
                duration_ms: Some(r.duration_ms),
                last_error: r.last_error.clone(),
            },
            None => StepView {
                name: step.as_str(),
                state: StepState::Pending,
                message: "has not run yet".into(),
                once_per_instance: step.once_per_instance(),
                started_at: None,
                duration_ms: None,
                last_error: None,
            },
        })
        .collect();
    let certificate = certificate(paths);
    let services = services(bus).await;
    let image: Option<ImageInfo> = crate::fsutil::read_json(&paths.image_info());

    let mut reasons = Vec::new();
    if let Some(e) = &state.run_error {
        reasons.push(format!("configuration: {e}"));
    }
    for s in &steps {
        if matches!(
            s.state,
            StepState::Failed | StepState::Degraded | StepState::Running
        ) || (s.state == StepState::Pending && state.last_run_at.is_some())
        {
            reasons.push(format!("{}: {}", s.name, s.message));
        }
    }
    let deployment = deployment(paths, seen, reach).await;
    let bridge_only = deployment.as_ref().is_some_and(|d| d.role == "videobridge");
    match &certificate {
        // A videobridge serves no web site: no certificate is expected there.
        None if bridge_only => {}
        None => reasons.push("certificate: none installed".into()),
        Some(CertificateView { error: Some(e), .. }) => reasons.push(format!("certificate: {e}")),
        _ => {}
    }
    for unit in &services.units {
        if unit.active_state == "failed" {
            reasons.push(format!(
                "{}: failed; see `journalctl -u {}`",
                unit.name, unit.name
            ));
        }
    }
    if let Some(d) = &deployment {
        if let Some(e) = &d.error {
            reasons.push(format!("deployment: {e}"));
        }
        if let Some(e) = &d.jicofo_unhealthy {
            reasons.push(format!("deployment: {e}"));
        }
        if let Some(b) = &d.bridge {
            if b.mucs_joined == 0 {
                reasons.push(
                    "deployment: this bridge has not joined its signaling node's brewery (check bridge.join, that the signaling node's firewall lets this address reach 5222, and `journalctl -u jitsi-videobridge2`)"
                        .into(),
                );
            }
        }
        // Why a bridge has not joined (or may not, when its stats do not answer). A bridge
        // that has joined is connected whatever the probe met, so it is no reason then.
        let joined = d.bridge.as_ref().is_some_and(|b| b.mucs_joined > 0);
        if let Some(p) = d.signaling.as_ref().filter(|p| !p.ok() && !joined) {
            reasons.push(format!("deployment: {}", p.message));
        }
        if let Some(seen) = &d.bridges {
            if seen.operational_bridge_count == 0 {
                reasons.push(
                    "deployment: jicofo sees no operational videobridge, so no meeting can start (start a bridge with this node's `meet-agent bridge token`, or set bridges.local = true)"
                        .into(),
                );
            }
            reasons.extend(
                crate::jitsi::jicofo_api::problems(&seen.list)
                    .into_iter()
                    .map(|p| format!("deployment: {p}")),
            );
        }
    }
    let any = |st: StepState| steps.iter().any(|s| s.state == st);
    let health = if state.last_run_at.is_none() {
        reasons.insert(0, "meet-agent run has not run on this machine".into());
        Health::NotRun
    } else if state.run_error.is_some() || any(StepState::Failed) {
        Health::Failed
    } else if reasons.is_empty() {
        Health::Healthy
    } else {
        Health::Degraded
    };
    Ok(Report {
        schema: SCHEMA,
        health,
        reasons,
        last_run_at: state.last_run_at,
        run_error: state.run_error,
        image,
        identity: state.identity,
        certificate,
        // Unreadable secrets show as none here; the secrets step reports why.
        secrets: crate::jitsi::secrets::Secrets::load(paths)
            .ok()
            .flatten()
            .map(|s| SecretsView {
                fingerprints: s.fingerprints(),
                instance_id: s.instance_id,
            }),
        steps,
        services,
        operations: operations(paths, seen.facts),
        deployment,
    })
}

fn certificate(paths: &Paths) -> Option<CertificateView> {
    let path = paths.tls_fullchain();
    let bytes = std::fs::read(&path).ok()?;
    let parsed = pem::parse_many(&bytes)
        .ok()
        .and_then(|blocks| blocks.into_iter().find(|b| b.tag() == "CERTIFICATE"))
        .ok_or_else(|| format!("{} holds no PEM certificate", path.display()))
        .and_then(|block| {
            let der = rustls_pki_types::CertificateDer::from(block.into_contents());
            tls::inspect::summarize(&der, time::OffsetDateTime::now_utc())
                .map_err(|e| format!("{}: {e:#}", path.display()))
        });
    Some(match parsed {
        Ok(summary) => CertificateView {
            path: path.display().to_string(),
            summary: Some(summary),
            // A key that does not belong to the certificate serves no TLS at all.
            error: tls::store::mismatch(paths),
        },
        Err(error) => CertificateView {
            path: path.display().to_string(),
            summary: None,
            error: Some(error),
        },
    })
}

async fn services(bus: &mut crate::apply::Bus) -> ServicesView {
    let systemd = match bus.systemd().await {
        Ok(s) => s,
        Err(e) => {
            return ServicesView {
                available: false,
                error: Some(format!("{e:#}")),
                units: Vec::new(),
            }
        }
    };
    let mut units = Vec::new();
    for unit in STACK_UNITS {
        match systemd.unit_status(unit).await {
            Ok(status) => units.push(status),
            Err(e) => {
                return ServicesView {
                    available: false,
                    error: Some(format!("{e:#}")),
                    units,
                }
            }
        }
    }
    ServicesView {
        available: true,
        error: None,
        units,
    }
}

/// The few lines shown before login on the console and in the SSH login banner: the
/// server's address, its health and each reason (which says what to do), at most eight.
pub fn render_brief(report: &Report) -> String {
    let id = report.identity.as_ref();
    let url = id
        .and_then(|i| i.domain.clone())
        .or_else(|| id.and_then(|i| i.public_ipv4.map(|a| a.to_string())))
        .or_else(|| id.and_then(|i| i.local_ipv4.map(|a| a.to_string())))
        .map_or_else(
            || "(no address yet)".to_string(),
            |h| format!("https://{h}/"),
        );
    let mut out = format!("ryo-jitsi  {url}  {}\n", report.health.word());
    const SHOWN: usize = 8;
    for reason in report.reasons.iter().take(SHOWN) {
        let short: String = reason.chars().take(300).collect();
        let _ = writeln!(out, "  - {short}");
    }
    if report.reasons.len() > SHOWN {
        let _ = writeln!(out, "  ... and {} more", report.reasons.len() - SHOWN);
    }
    out.push_str("The whole report: meet-agent status\n");
    // The banner is shown before login: nothing from outside may act on the terminal.
    crate::printable::terminal(&out)
}

/// The one-screen human rendering.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "meet-agent: {}", report.health.word());
    for reason in &report.reasons {
        let _ = writeln!(out, "  - {reason}");
    }
    out.push('\n');
    if let Some(id) = &report.identity {
        let _ = writeln!(
            out,
            "domain       {}",
            id.domain.as_deref().unwrap_or("(not set)")
        );
        let _ = writeln!(out, "addresses    {}", id.addresses());
        let inst = &id.instance;
        let _ = writeln!(
            out,
            "instance     {}{}{}, {} CPUs, {} MiB",
            inst.provider,
            inst.instance_id
                .as_ref()
                .map_or(String::new(), |i| format!(" {i}")),
            inst.instance_type
                .as_ref()
                .map_or(String::new(), |t| format!(" ({t})")),
            id.cpus,
            id.memory_mib
        );
    }
    if let Some(d) = &report.deployment {
        let detail = match (&d.bridge, &d.bridges, &d.error) {
            (Some(b), _, _) => format!(
                "joined {} brewery MUC(s), {} conference(s), stress {:.2}{}",
                b.mucs_joined,
                b.conferences,
                b.stress_level,
                if b.graceful_shutdown {
                    ", shutting down gracefully"
                } else if b.drain {
                    ", draining"
                } else {
                    ""
                }
            ),
            (_, Some(seen), _) => format!(
                "jicofo sees {} bridge(s), {} operational, {} shutting down",
                seen.bridge_count, seen.operational_bridge_count, seen.in_shutdown_bridge_count
            ),
            (_, _, Some(e)) => e.clone(),
            _ => String::new(),
        };
        let _ = writeln!(out, "role         {}: {detail}", d.role);
        if let Some(p) = &d.signaling {
            let _ = writeln!(out, "xmpp         {}", p.message);
        }
        if let Some(seen) = &d.bridges {
            for b in &seen.list {
                let _ = writeln!(out, "bridge       {}", b.line());
            }
            if let Some(e) = &seen.list_error {
                let _ = writeln!(out, "bridge       (each bridge unknown: {e})");
            }
        }
        if let Some(s) = &d.scaling {
            let _ = writeln!(out, "scaling      {}; {}", s.metric, s.drain);
        }
    }
    if let Some(image) = &report.image {
        let _ = writeln!(
            out,
            "image        {}, built {}{}",
            image.os,
            image.built_at,
            if image.missing_packages.is_empty() {
                String::new()
            } else {
                format!(", without {}", image.missing_packages.join(", "))
            }
        );
    }
    match &report.certificate {
        None => {
            let _ = writeln!(out, "certificate  none installed");
        }
        Some(CertificateView {
            summary: Some(s), ..
        }) => {
            let _ = writeln!(
                out,
                "certificate  {} from {}{}, {} days left (until {})",
                if s.names.is_empty() {
                    s.subject.clone()
                } else {
                    s.names.join(", ")
                },
                s.issuer,
                if s.self_signed { ", self-signed" } else { "" },
                s.days_left,
                s.not_after
            );
        }
        Some(CertificateView { error, .. }) => {
            let _ = writeln!(
                out,
                "certificate  unreadable: {}",
                error.as_deref().unwrap_or("unknown")
            );
        }
    }
    let o = &report.operations;
    if let Some(p) = &o.shutdown {
        let _ = writeln!(out, "shutdown     {}", p.message);
    }
    if let Some(idle) = &o.idle {
        let _ = writeln!(
            out,
            "idle         {} (checked {})",
            idle.message, idle.checked_at
        );
    }
    if o.reboot_required {
        let _ = writeln!(
            out,
            "reboot       required by updates; done in the maintenance window when no conference runs"
        );
    }
    let _ = writeln!(
        out,
        "\nsteps (last run {})",
        report.last_run_at.as_deref().unwrap_or("never")
    );
    for s in &report.steps {
        let took = s.duration_ms.map_or(String::new(), |ms| format!("{ms} ms"));
        let _ = writeln!(
            out,
            "  {:<9} {:<15} {:>8}  {}",
            s.name,
            s.state.as_str(),
            took,
            s.message
        );
    }
    out.push_str("\nservices\n");
    if !report.services.available {
        let _ = writeln!(
            out,
            "  unknown: {}",
            report
                .services
                .error
                .as_deref()
                .unwrap_or("no system D-Bus")
        );
    }
    for u in &report.services.units {
        let state = if u.installed() {
            format!("{} ({})", u.active_state, u.sub_state)
        } else {
            "not installed".into()
        };
        let _ = writeln!(out, "  {:<27} {state}", u.name);
    }
    // Domains, key comments, errors and answers quoted here came from outside.
    crate::printable::terminal(&out)
}
