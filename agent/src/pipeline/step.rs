//! What every step shares: its name ([`StepName`]), its declaration ([`Step`], one
//! [`RunFn`] signature), what it reads ([`Input`]), where it applies changes
//! ([`ApplyHandle`]) and what it returns ([`Ran`]: an [`Outcome`] and [`Effect`]s).
//! Imports nothing else of the pipeline but the certificate decision's types, so each
//! step, the step list and the runner sit above it.

use super::certificate;
use crate::apply;
use crate::config::Settings;
use crate::dns::Target;
use crate::jitsi::secrets::Secrets;
use crate::paths::Paths;
use crate::state::{now_rfc3339, Identity, StepRecord, StepState};
use crate::systemd::notify;
use crate::tls::Pair;
use anyhow::Result;
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

/// The steps, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StepName {
    /// Domain, addresses and size of this machine.
    Identity,
    /// The host firewall.
    Firewall,
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
    /// The step's name in state, status and `--step`.
    pub fn as_str(self) -> &'static str {
        match self {
            StepName::Identity => "identity",
            StepName::Firewall => "firewall",
            StepName::Ddns => "ddns",
            StepName::DnsWait => "dns-wait",
            StepName::Tls => "tls",
            StepName::Secrets => "secrets",
            StepName::Jitsi => "jitsi",
            StepName::Tune => "tune",
            StepName::Access => "access",
            StepName::Schedule => "schedule",
            StepName::Updates => "updates",
            StepName::Start => "start",
        }
    }
}

/// How often a step runs in `meet-agent run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// At every boot (and every `meet-agent run`).
    EveryBoot,
    /// Once per instance: skipped when it succeeded for the same instance id (the
    /// provider's, else /etc/machine-id); `run --step` forces it.
    OncePerInstance,
}

/// The future a step (or work it left for later) returns, borrowing its input.
pub type StepFuture<'r, T> = Pin<Box<dyn Future<Output = T> + 'r>>;

/// A step's code: one signature for every step. A step reads the [`Input`], changes the
/// machine through the [`ApplyHandle`] and returns its outcome and effects.
pub type RunFn = for<'r, 'a> fn(&'r Input<'a>, &'r mut ApplyHandle) -> StepFuture<'r, Result<Ran>>;

/// What a step does in a run that could not load the configuration (no step runs then):
/// keep the server reachable, say. Its error is logged; nothing is recorded.
pub type WithoutConfigFn = for<'r, 'a> fn(&'r Input<'a>, &'r mut ApplyHandle) -> Result<()>;

/// A step's declaration, next to its code (each step module's `STEP`): everything the
/// runner knows about a step, so that it has no branch naming one.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// Its name in state, status and `--step`.
    pub name: StepName,
    /// How often it runs.
    pub runs: Runs,
    /// Whether `meet-agent renew` (and the retry timer) runs it too.
    pub renews: bool,
    /// Whether `renew --retry` runs only while this step's last record is not ok.
    pub retried: bool,
    /// Whether it reloads or restarts the services whose files changed; a run without
    /// such a step has the runner do it at the end.
    pub brings_up: bool,
    /// Its code.
    pub run: RunFn,
    /// What it does when the configuration cannot be loaded, if anything.
    pub without_config: Option<WithoutConfigFn>,
}

impl Step {
    /// A step that runs at every boot and nowhere else.
    pub const fn every_boot(name: StepName, run: RunFn) -> Self {
        Self {
            name,
            runs: Runs::EveryBoot,
            renews: false,
            retried: false,
            brings_up: false,
            run,
            without_config: None,
        }
    }

    /// A step that runs once per instance.
    pub const fn once_per_instance(name: StepName, run: RunFn) -> Self {
        let mut step = Self::every_boot(name, run);
        step.runs = Runs::OncePerInstance;
        step
    }

    /// The same, also run by `meet-agent renew`; `retried`: and by `renew --retry` only
    /// while its last record is not ok.
    pub const fn renewed(mut self, retried: bool) -> Self {
        self.renews = true;
        self.retried = retried;
        self
    }

    /// The same, declared as the step that reloads or restarts changed services.
    pub const fn bringing_up(mut self) -> Self {
        self.brings_up = true;
        self
    }

    /// The same, with what it does in a run without configuration.
    pub const fn without_config(mut self, run: WithoutConfigFn) -> Self {
        self.without_config = Some(run);
        self
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

/// What a step returns: its outcome and what the runner is to do with the rest. A step
/// without effects may return its [`Outcome`] alone; the runner makes it a `Ran`.
pub struct Ran {
    /// The outcome to record.
    pub outcome: Outcome,
    /// Effects for the runner to fold, in order.
    pub effects: Vec<Effect>,
}

impl From<Outcome> for Ran {
    fn from(outcome: Outcome) -> Self {
        Self {
            outcome,
            effects: Vec::new(),
        }
    }
}

impl Ran {
    /// The same, with `effect` added.
    pub fn with(mut self, effect: Effect) -> Self {
        self.effects.push(effect);
        self
    }
}

/// What a step hands the runner besides its outcome. An observation becomes a field of
/// the later steps' [`Observations`]; work for later is done by the runner at its time.
pub enum Effect {
    /// dns-wait: the certificate decision of this run (the installed pair, the CA's
    /// schedule and the plan, with what DNS answered), so that the tls step acts on it
    /// instead of deciding (reading the pair, asking the CA) again.
    CertificateDecided(Box<certificate::Decision>),
    /// tls: the pair installed once the step finished (kept, supplied, ordered or
    /// self-signed); the jitsi step checks the TURN name against it.
    CertificateLive(Pair),
    /// secrets: this instance's secrets as saved (made now or already in place), for the
    /// jitsi step.
    SecretsInPlace(Secrets),
    /// Work the step leaves for later in the run (see [`When`]); what it reports goes into
    /// the step's record.
    Later(When, Box<dyn Later>),
}

impl std::fmt::Debug for Effect {
    // Names only: the payloads hold a private key and the stack's passwords.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Effect::CertificateDecided(decision) => {
                write!(f, "CertificateDecided({:?})", decision.plan)
            }
            Effect::CertificateLive(_) => f.write_str("CertificateLive"),
            Effect::SecretsInPlace(_) => f.write_str("SecretsInPlace"),
            Effect::Later(when, _) => write!(f, "Later({when:?})"),
        }
    }
}

/// When the runner does work a step left for later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Once every step of the whole pipeline ran (the stack is started), before READY;
    /// dropped in a run of some steps (`renew`, `run --step`).
    AfterAllSteps,
    /// Once READY has been sent (the stack is serving meanwhile), in any run.
    AfterReady,
}

/// Work a step leaves for later in the run ([`Effect::Later`]).
pub trait Later {
    /// Does the work; the outcome to add to the step's record, `None` for nothing to add.
    fn run<'r>(
        &'r self,
        ctx: &'r Input<'_>,
        apply: &'r mut ApplyHandle,
    ) -> StepFuture<'r, Option<Outcome>>;

    /// The step's record with `later` (the work's outcome, as a record) in, from its
    /// record so far (`earlier`).
    fn merge(&self, earlier: Option<&StepRecord>, later: StepRecord) -> StepRecord;
}

/// What earlier steps of this run observed, put here by the runner from their effects
/// (and nowhere else). Each field is `None` until the step that observes it ran in this
/// run; a step then reads what an earlier run left on disk instead.
#[derive(Default)]
pub struct Observations {
    /// From dns-wait: the certificate decision, DNS's answer included; tls acts on it.
    /// Dropped once tls reports the pair it left installed.
    pub certificate: Option<Box<certificate::Decision>>,
    /// From tls: the pair installed now; jitsi checks the TURN name against it.
    pub live_pair: Option<Pair>,
    /// From secrets: this instance's secrets; jitsi renders with them.
    pub secrets: Option<Secrets>,
}

/// What a step reads. Steps get it by shared reference: only the runner changes it,
/// between steps.
pub struct Input<'a> {
    /// File locations.
    pub paths: &'a Paths,
    /// Validated settings (absent when the configuration could not be loaded).
    pub settings: Option<&'a Settings>,
    /// This machine's identity, resolved before the first step.
    pub identity: Identity,
    /// Whether this is the instance's first run (another instance id, or none before).
    pub first_boot: bool,
    /// This instance's id (the provider's, else the machine-id).
    pub instance_id: Option<String>,
    /// What earlier steps of this run observed.
    pub observed: Observations,
    /// Where a long step's progress goes (the runner's state file).
    pub progress: &'a dyn Progress,
}

impl<'a> Input<'a> {
    /// A writer that shows a long step's progress in the state file (and so in `status`)
    /// and in systemd's STATUS line.
    pub fn progress_writer(&self, step: StepName) -> ProgressWriter<'a> {
        ProgressWriter {
            sink: self.progress,
            step,
            started_at: now_rfc3339(),
            clock: Instant::now(),
        }
    }

    /// The name and addresses to publish in DNS (and to wait for), when both are known.
    pub fn dns_target(&self) -> Option<Target> {
        let id = &self.identity;
        let domain = id.domain.clone()?;
        if id.public_ipv4.is_none() && id.public_ipv6.is_none() {
            return None;
        }
        Some(Target {
            domain,
            ipv4: id.public_ipv4,
            ipv6: id.public_ipv6,
        })
    }
}

/// Where a running step's progress is recorded: the runner's state file, with the step
/// as `running`. `Sync`: steps report from callbacks that must be `Send`.
pub trait Progress: Sync {
    /// Records that `step`, started at `started_at`, is running `duration_ms` in and has
    /// got as far as `message`.
    fn report(&self, step: StepName, message: &str, started_at: &str, duration_ms: u64);
}

/// A [`Progress`] that records nothing (a run without configuration, unit tests).
pub struct NoProgress;

impl Progress for NoProgress {
    fn report(&self, _: StepName, _: &str, _: &str, _: u64) {}
}

/// Where steps apply changes that outlive them: explicit, and the only mutable thing a
/// step gets from the runner.
pub struct ApplyHandle {
    /// Services whose configuration changed (in this run, or in an earlier one killed
    /// before it refreshed them), recorded durably before each change; the start step, or
    /// the end of a run without it, refreshes each once.
    pub refreshes: apply::Refreshes,
    /// The run's one connection to systemd, made when a step first needs it.
    pub bus: apply::Bus,
    /// Whether this run has a step that brings the stack up (the start step of a whole
    /// run): a step may then start a service of its own early, as the start step would.
    pub brings_up: bool,
}

/// Writes a running step's progress; see [`Input::progress_writer`].
pub struct ProgressWriter<'a> {
    sink: &'a dyn Progress,
    step: StepName,
    started_at: String,
    clock: Instant,
}

impl ProgressWriter<'_> {
    /// Records `message` as the step's current progress.
    pub fn report(&mut self, message: &str) {
        notify::status(&format!("{}: {message}", self.step.as_str()));
        let duration_ms = self.clock.elapsed().as_millis() as u64;
        self.sink
            .report(self.step, message, &self.started_at, duration_ms);
    }
}

impl ApplyHandle {
    /// The handle of a run: the refreshes an earlier run left pending, no bus yet.
    pub fn load(paths: &Paths) -> Self {
        Self {
            refreshes: apply::Refreshes::load(paths),
            bus: apply::Bus::new(),
            brings_up: false,
        }
    }
}

/// The settings a step needs, or the reason it cannot run.
pub fn settings<'a>(ctx: &Input<'a>) -> Result<&'a Settings> {
    ctx.settings.ok_or_else(|| {
        anyhow::anyhow!("the configuration could not be loaded; run `meet-agent config check`")
    })
}
