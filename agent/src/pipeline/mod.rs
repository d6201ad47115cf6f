//! The first-boot pipeline: ordered steps, each recording its outcome in the state file.

mod steps;

pub use steps::updates::REBOOT_REQUIRED;
use steps::{
    access, ddns, dns_wait, firewall, identity, jitsi, schedule, secrets, start, tls, tune, updates,
};

use crate::apply;
use crate::config::Settings;
use crate::instance::{self, LoadError};
use crate::paths::Paths;
use crate::state::{now_rfc3339, Identity, State, StepRecord, StepState};
use crate::systemd::notify;
use anyhow::Result;
use std::time::Instant;

/// The steps, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StepName {
    /// Domain, addresses and size of this machine.
    Identity,
    /// Dynamic DNS updates.
    Ddns,
    /// Waiting until DNS answers this machine's address.
    DnsWait,
    /// The web certificate.
    Tls,
    /// Per-instance secrets.
    Secrets,
    /// Jitsi component configuration.
    Jitsi,
    /// Kernel and JVM tuning.
    Tune,
    /// The host firewall.
    Firewall,
    /// SSH keys for administrative access.
    Access,
    /// Scheduled and idle shutdown.
    Schedule,
    /// Security updates.
    Updates,
    /// Starting or reloading the stack.
    Start,
}

impl StepName {
    /// Every step in pipeline order.
    pub const ALL: [StepName; 12] = [
        StepName::Identity,
        StepName::Ddns,
        StepName::DnsWait,
        StepName::Tls,
        StepName::Secrets,
        StepName::Jitsi,
        StepName::Tune,
        StepName::Firewall,
        StepName::Access,
        StepName::Schedule,
        StepName::Updates,
        StepName::Start,
    ];

    /// The step's name in state, status and `--step`.
    pub fn as_str(self) -> &'static str {
        match self {
            StepName::Identity => "identity",
            StepName::Ddns => "ddns",
            StepName::DnsWait => "dns-wait",
            StepName::Tls => "tls",
            StepName::Secrets => "secrets",
            StepName::Jitsi => "jitsi",
            StepName::Tune => "tune",
            StepName::Firewall => "firewall",
            StepName::Access => "access",
            StepName::Schedule => "schedule",
            StepName::Updates => "updates",
            StepName::Start => "start",
        }
    }

    /// Whether the step runs once per instance (others run on every boot).
    pub fn once_per_instance(self) -> bool {
        matches!(self, StepName::Secrets)
    }
}

/// What a step reports.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The state to record.
    pub state: StepState,
    /// One line for the operator.
    pub message: String,
}

impl Outcome {
    /// A successful outcome.
    pub fn ok(message: impl Into<String>) -> Self {
        Self {
            state: StepState::Ok,
            message: message.into(),
        }
    }
    /// A partly successful outcome.
    pub fn degraded(message: impl Into<String>) -> Self {
        Self {
            state: StepState::Degraded,
            message: message.into(),
        }
    }
    /// A failed outcome that still left the server usable.
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            state: StepState::Failed,
            message: message.into(),
        }
    }
    /// Nothing to do with this configuration or build.
    pub fn not_configured(message: impl Into<String>) -> Self {
        Self {
            state: StepState::NotConfigured,
            message: message.into(),
        }
    }
}

/// What the steps share during one run.
pub struct Context<'a> {
    /// File locations.
    pub paths: &'a Paths,
    /// Validated settings (absent when the configuration could not be loaded).
    pub settings: Option<&'a Settings>,
    /// This machine's identity.
    pub identity: Identity,
    /// Whether the installed certificate changed in this run.
    pub tls_changed: bool,
    /// Services whose configuration changed (in this run, or in an earlier one killed
    /// before it refreshed them), recorded durably before each change; the start step, or
    /// the end of a run without it, refreshes each once.
    pub refreshes: apply::Refreshes,
    /// The run's one connection to systemd, made when a step first needs it.
    pub bus: apply::Bus,
    /// Timers the schedule step wrote, for systemd once READY has been sent.
    pub timers: Option<schedule::TimerPlan>,
    /// Set by dns-wait when DNS does not answer our address: the tls step orders nothing.
    pub dns_blocked: Option<String>,
    /// Whether this is the instance's first run (another instance id, or none before).
    pub first_boot: bool,
    /// This instance's id (the provider's, else the machine-id).
    pub instance_id: Option<String>,
    /// The state as saved before the current step, for progress reports.
    snapshot: State,
}

impl Context<'_> {
    /// A writer that shows a long step's progress in the state file (and so in `status`)
    /// and in systemd's STATUS line.
    pub fn progress_writer(&self, step: StepName) -> ProgressWriter {
        ProgressWriter {
            path: self.paths.state_file(),
            state: self.snapshot.clone(),
            step,
            started_at: now_rfc3339(),
            clock: Instant::now(),
        }
    }
}

/// Writes a running step's progress; see [`Context::progress_writer`].
pub struct ProgressWriter {
    path: std::path::PathBuf,
    state: State,
    step: StepName,
    started_at: String,
    clock: Instant,
}

impl ProgressWriter {
    /// Records `message` as the step's current progress.
    pub fn report(&mut self, message: &str) {
        notify::status(&format!("{}: {message}", self.step.as_str()));
        let record = StepRecord {
            state: StepState::Running,
            message: message.to_string(),
            started_at: self.started_at.clone(),
            duration_ms: self.clock.elapsed().as_millis() as u64,
            last_error: None,
            instance_id: self.state.instance_id.clone(),
        };
        self.state.steps.insert(self.step.as_str().into(), record);
        if let Err(e) = self.state.save(&self.path) {
            tracing::warn!("cannot record progress: {e:#}");
        }
    }
}

/// Which steps a run covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// The whole pipeline (`meet-agent run`).
    All,
    /// One step, forced even when once-per-instance (`run --step`).
    Only(StepName),
    /// dns-wait and tls (`meet-agent renew`).
    Renew,
    /// As `Renew`, but only when the last certificate attempt did not succeed (the retry timer).
    Retry,
}

impl Selection {
    fn includes(self, step: StepName) -> bool {
        match self {
            Selection::All => true,
            Selection::Only(only) => only == step,
            Selection::Renew | Selection::Retry => {
                matches!(step, StepName::DnsWait | StepName::Tls)
            }
        }
    }
}

/// What a run did, for the exit code and the READY status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunResult {
    /// No step failed.
    Completed,
    /// At least one step failed.
    StepFailed,
    /// The configuration or instance source could not be read; only the fallback ran.
    NotStarted,
}

/// Runs the selected steps in order, recording each in the state file. One run at a time:
/// the boot's run, the renewal timer's and the retry timer's wait for each other.
pub async fn run(paths: &Paths, selection: Selection) -> Result<RunResult> {
    let _lock = lock(paths)?;
    // Under the lock and before anything is written: what killed runs left half-written.
    apply::remove_stale_temporaries(paths);
    let state_path = paths.state_file();
    let mut state = State::load(&state_path)?;
    if selection == Selection::Retry {
        let pending = state
            .steps
            .get(StepName::Tls.as_str())
            .is_some_and(|r| r.state != StepState::Ok);
        if !pending {
            tracing::info!("the certificate is in order; nothing to retry");
            return Ok(RunResult::Completed);
        }
    }
    let previous_instance = state.instance_id.clone();
    let ran_before = state.last_run_at.is_some();
    state.version = crate::state::STATE_VERSION;
    state.last_run_at = Some(now_rfc3339());
    notify::status("reading configuration and instance data");

    let effective = match instance::load(paths).await {
        Ok(effective) => effective,
        Err(load_error) => {
            // The commands that read it load (and report the error) for themselves.
            if let Err(e) = crate::effective::forget(paths) {
                tracing::warn!("{e:#}");
            }
            return run_without_config(paths, &mut state, load_error).await;
        }
    };
    if selection == Selection::Retry && effective.settings.acme.is_none() {
        // Only a CA can have changed its mind since; anything else waits for `run`.
        tracing::info!("ACME is off; nothing to retry");
        return Ok(RunResult::Completed);
    }
    state.run_error = None;
    let instance_id = match instance::instance_id(paths, effective.instance.instance_id.as_deref())
    {
        Ok(id) => Some(id),
        Err(e) => {
            // Keep the last known id rather than count this boot as a new instance.
            tracing::warn!("{e:#}");
            previous_instance.clone()
        }
    };
    state.instance_id = instance_id.clone();
    let facts = crate::effective::host::facts(paths)?;

    let mut ctx = Context {
        paths,
        settings: Some(&effective.settings),
        identity: identity::resolve(&effective.settings, &effective.instance, facts.as_ref()).await,
        tls_changed: false,
        refreshes: apply::Refreshes::load(paths),
        bus: apply::Bus::new(),
        timers: None,
        dns_blocked: None,
        first_boot: !ran_before || previous_instance != instance_id,
        instance_id: instance_id.clone(),
        snapshot: State::default(),
    };
    state.identity = Some(ctx.identity.clone());
    let saved = crate::effective::Saved::new(
        paths,
        &effective.config,
        &effective.settings,
        &ctx.identity,
        instance_id.clone(),
    )
    .and_then(|saved| saved.save(paths));
    if let Err(e) = saved {
        // The operations commands then load for themselves, as before any run.
        tracing::warn!("{e:#}");
    }

    let mut any_failed = false;
    let selected: Vec<StepName> = StepName::ALL
        .into_iter()
        .filter(|s| selection.includes(*s))
        .collect();
    for (i, step) in selected.iter().copied().enumerate() {
        if selection == Selection::All && step.once_per_instance() {
            if let Some(done) = state.steps.get(step.as_str()) {
                if done.state == StepState::Ok && done.instance_id == instance_id {
                    tracing::info!("{}: already done for this instance", step.as_str());
                    continue;
                }
            }
        }
        notify::status(&format!(
            "step {} ({}/{})",
            step.as_str(),
            i + 1,
            selected.len()
        ));
        ctx.snapshot = state.clone();
        let record = run_step(step, &mut ctx, instance_id.clone()).await;
        any_failed |= record.state == StepState::Failed;
        state.steps.insert(step.as_str().to_string(), record);
        state.save(&state_path)?;
    }
    if !selected.contains(&StepName::Start) {
        let last = selected
            .last()
            .and_then(|step| state.steps.get_mut(step.as_str()));
        refresh_without_start(&mut ctx, last).await;
    }
    if selection == Selection::All {
        // The CloudFormation template's "post-installation" call: providers that want it
        // hear from us again once the stack runs.
        if let Some(record) = run_after_start(&mut ctx, instance_id.clone()).await {
            // Both outcomes stay in the ddns record, the worse one its state, so that
            // status, READY's summary and the exit code tell the same story.
            let record = ddns::with_after_start(state.steps.get(StepName::Ddns.as_str()), record);
            any_failed |= record.state == StepState::Failed;
            state
                .steps
                .insert(StepName::Ddns.as_str().to_string(), record);
        }
    }
    state.save(&state_path)?;
    let summary = summary_line(&state);
    notify::ready(&summary);
    tracing::info!("{summary}");
    console_banner(paths, &mut ctx.bus).await;
    if let Some(plan) = ctx.timers.take() {
        // After READY: the stack is starting and serving meanwhile.
        if let Err(problem) = schedule::apply(&plan, &mut ctx.bus, &mut ctx.refreshes).await {
            if let Some(record) = state.steps.get_mut(StepName::Schedule.as_str()) {
                record.state = StepState::Degraded;
                record.message = format!("{}; {problem}", record.message);
                record.last_error = Some(record.message.clone());
            }
            tracing::warn!("schedule: {problem}");
            state.save(&state_path)?;
        }
    }
    Ok(if any_failed {
        RunResult::StepFailed
    } else {
        RunResult::Completed
    })
}

async fn run_step(
    step: StepName,
    ctx: &mut Context<'_>,
    instance_id: Option<String>,
) -> StepRecord {
    let started_at = now_rfc3339();
    let clock = Instant::now();
    let result = match step {
        StepName::Identity => identity::run(ctx),
        StepName::Ddns => ddns::run(ctx, ddns::Phase::Boot).await,
        StepName::DnsWait => dns_wait::run(ctx).await,
        StepName::Secrets => secrets::run(ctx),
        StepName::Jitsi => jitsi::run(ctx),
        StepName::Tls => tls::run(ctx).await,
        StepName::Tune => tune::run(ctx).await,
        StepName::Firewall => firewall::run(ctx),
        StepName::Access => access::run(ctx),
        StepName::Schedule => schedule::run(ctx).await,
        StepName::Updates => updates::run(ctx).await,
        StepName::Start => start::run(ctx).await,
    };
    let outcome = redacted(
        ctx,
        result.unwrap_or_else(|e| Outcome::failed(format!("{e:#}"))),
    );
    record(step, outcome, started_at, clock, instance_id)
}

/// The ddns updates due after the stack started, as the ddns step's new record.
async fn run_after_start(ctx: &mut Context<'_>, instance_id: Option<String>) -> Option<StepRecord> {
    let dns = &ctx.settings?.dns;
    if !dns.after_start || dns.updates.is_empty() {
        return None;
    }
    let started_at = now_rfc3339();
    let clock = Instant::now();
    let outcome = ddns::run(ctx, ddns::Phase::AfterStart)
        .await
        .unwrap_or_else(|e| Outcome::failed(format!("{e:#}")));
    let outcome = redacted(ctx, outcome);
    Some(record(
        StepName::Ddns,
        outcome,
        started_at,
        clock,
        instance_id,
    ))
}

/// `outcome` with every configured credential, in any form, removed from its message:
/// steps quote what providers and CAs answered, and some answers echo the request.
fn redacted(ctx: &Context<'_>, mut outcome: Outcome) -> Outcome {
    if let Some(settings) = ctx.settings {
        outcome.message = settings.redactor.redact(&outcome.message);
    }
    outcome
}

/// Logs an outcome and makes it a state record.
fn record(
    step: StepName,
    outcome: Outcome,
    started_at: String,
    clock: Instant,
    instance_id: Option<String>,
) -> StepRecord {
    let duration_ms = clock.elapsed().as_millis() as u64;
    match outcome.state {
        StepState::Failed => tracing::error!("{}: {}", step.as_str(), outcome.message),
        StepState::Degraded => tracing::warn!("{}: {}", step.as_str(), outcome.message),
        _ => tracing::info!("{}: {}", step.as_str(), outcome.message),
    }
    StepRecord {
        // Kept while the step is failed or degraded; cleared once it is ok again.
        last_error: matches!(outcome.state, StepState::Failed | StepState::Degraded)
            .then(|| outcome.message.clone()),
        state: outcome.state,
        message: outcome.message,
        started_at,
        duration_ms,
        instance_id,
    }
}

/// Without valid configuration or instance data no step can do its real work; still keep
/// the server reachable (a fallback certificate) and say why in the state file.
async fn run_without_config(
    paths: &Paths,
    state: &mut State,
    load_error: LoadError,
) -> Result<RunResult> {
    let error = format!("{:#}", load_error.error());
    tracing::error!("{error}");
    state.run_error = Some(error.clone());
    if let LoadError::Source(_) = load_error {
        let record = StepRecord {
            state: StepState::Failed,
            message: error.clone(),
            started_at: now_rfc3339(),
            duration_ms: 0,
            last_error: Some(error.clone()),
            instance_id: state.instance_id.clone(),
        };
        state
            .steps
            .insert(StepName::Identity.as_str().into(), record);
    }
    let mut ctx = Context {
        paths,
        settings: None,
        identity: state.identity.clone().unwrap_or_default(),
        tls_changed: false,
        refreshes: apply::Refreshes::load(paths),
        bus: apply::Bus::new(),
        timers: None,
        dns_blocked: None,
        first_boot: false,
        instance_id: None,
        snapshot: State::default(),
    };
    if let Err(e) = tls::ensure_fallback(&mut ctx) {
        tracing::error!("tls: could not install a fallback certificate: {e:#}");
    }
    refresh_without_start(&mut ctx, None).await;
    state.save(&paths.state_file())?;
    notify::ready(&format!("failed: {error}"));
    console_banner(paths, &mut ctx.bus).await;
    Ok(RunResult::NotStarted)
}

/// Writes the console's pre-login summary (agetty shows it above the login prompt) and
/// asks running agettys to show it again. A failure costs only the banner.
async fn console_banner(paths: &Paths, bus: &mut apply::Bus) {
    let report = match crate::status::collect_over(paths, bus).await {
        Ok(report) => report,
        Err(e) => {
            tracing::warn!("no console banner: {e:#}");
            return;
        }
    };
    let text = crate::access::issue_text(&crate::status::render_brief(&report));
    let issue = paths.join(crate::access::ISSUE);
    if let Err(e) = crate::fsutil::write_atomic(&issue, format!("{text}\n").as_bytes(), 0o644) {
        tracing::warn!("no console banner: {e:#}");
        return;
    }
    // What `agetty --reload` does: touch the file running agettys watch.
    let reload = paths.join("/run/agetty.reload");
    if reload.exists() {
        let _ = std::fs::OpenOptions::new().write(true).open(&reload);
    }
}

/// In a run without the start step (`renew`, `run --step`, no configuration), reloads or
/// restarts the running services whose configuration changed, or was left pending by an
/// earlier run, and says so in `record`'s message.
async fn refresh_without_start(ctx: &mut Context<'_>, record: Option<&mut StepRecord>) {
    if ctx.refreshes.is_empty() {
        return;
    }
    let note = match ctx.bus.systemd().await {
        Ok(systemd) => match apply::bring_up(&mut ctx.refreshes, systemd, false).await {
            Ok(report) => report.refreshed_note(),
            Err(e) => format!("; running services not reloaded: {e:#}"),
        },
        Err(e) => {
            // No systemd to ask (a chroot, an image build): nothing runs that could take
            // the change now, and the record keeps it for the next run with one.
            let waiting: Vec<&str> = ctx.refreshes.pending().iter().map(|s| s.short()).collect();
            tracing::warn!(
                "{} left to refresh at the next run: {e:#}",
                waiting.join(", ")
            );
            return;
        }
    };
    match record {
        Some(record) => record.message.push_str(&note),
        None if !note.is_empty() => tracing::info!("{}", note.trim_start_matches("; ")),
        None => {}
    }
}

/// Takes the agent's run lock, waiting for a run in progress to finish.
fn lock(paths: &Paths) -> Result<nix::fcntl::Flock<std::fs::File>> {
    let path = paths.run_lock();
    let file = crate::fsutil::open_lock_file(&path)?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| anyhow::anyhow!("failed to lock {}: {e}", path.display()))
}

/// One line for sd_notify and the log: how many steps are in which state.
fn summary_line(state: &State) -> String {
    let count = |s: StepState| state.steps.values().filter(|r| r.state == s).count();
    let (failed, degraded) = (count(StepState::Failed), count(StepState::Degraded));
    let word = if failed > 0 {
        "failed"
    } else if degraded > 0 {
        "degraded"
    } else {
        "ready"
    };
    format!(
        "{word}: {} ok, {degraded} degraded, {failed} failed, {} not configured",
        count(StepState::Ok),
        count(StepState::NotConfigured)
    )
}

/// The settings a step needs, or the reason it cannot run.
fn settings<'a>(ctx: &Context<'a>) -> Result<&'a Settings> {
    ctx.settings.ok_or_else(|| {
        anyhow::anyhow!("the configuration could not be loaded; run `meet-agent config check`")
    })
}
