//! The runner: one run at a time (the lock), the configuration loaded once, the selected
//! steps in order with each outcome in the state file, their effects folded into the
//! next steps' input, the work they left for later, READY, then the work for after it.
//! It knows steps only by their declarations ([`STEPS`]): no branch names one.

use super::ledger::Ledger;
use super::step::{
    ApplyHandle, Effect, Input, Later, NoProgress, Observations, Outcome, Ran, Runs, Step,
    StepFuture, StepName, When,
};
use super::steps::{identity, STEPS};
use crate::apply;
use crate::instance::{self, LoadError};
use crate::paths::Paths;
use crate::state::{now_rfc3339, State, StepRecord, StepState};
use crate::systemd::notify;
use crate::write_behind::WriteBehind;
use anyhow::Result;
use std::time::Instant;

/// Which steps a run covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// The whole pipeline (`meet-agent run`).
    All,
    /// One step, forced even when once-per-instance (`run --step`).
    Only(StepName),
    /// The steps declared `renews` (dns-wait and tls; `meet-agent renew`).
    Renew,
    /// As `Renew`, but only while the last record of a step declared `retried` (tls) is
    /// not ok (the retry timer).
    Retry,
}

impl Selection {
    fn includes(self, step: &Step) -> bool {
        match self {
            Selection::All => true,
            Selection::Only(only) => only == step.name,
            Selection::Renew | Selection::Retry => step.renews,
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

/// What the command running the pipeline does once READY has been sent, with the run's
/// D-Bus connection: the console banner, rendered by `status`, which the pipeline does not
/// import.
pub trait AfterReady {
    /// Does it; a failure is its own to log.
    fn after_ready<'r>(&'r self, bus: &'r mut apply::Bus) -> StepFuture<'r, ()>;
}

/// What the steps of a run left: whether one failed, and their work for later.
#[derive(Default)]
struct Left {
    any_failed: bool,
    later: Vec<(StepName, When, Box<dyn Later>)>,
}

/// Runs the selected steps in order, recording each in the state file; `after_ready` once
/// READY has been sent. One run at a time: the boot's run, the renewal timer's and the
/// retry timer's wait for each other. `local` is the drop-ins as the command read them,
/// `facts` this machine's.
pub async fn run(
    paths: &Paths,
    local: &crate::config::Local,
    facts: &dyn crate::host::HostFacts,
    selection: Selection,
    after_ready: &dyn AfterReady,
) -> Result<RunResult> {
    let _lock = lock(paths)?;
    // Under the lock and before anything is written: what killed runs left half-written.
    apply::remove_stale_temporaries(paths);
    let mut state = State::load(&paths.state_file())?;
    if selection == Selection::Retry && !retry_due(&state) {
        tracing::info!("the certificate is in order; nothing to retry");
        return Ok(RunResult::Completed);
    }
    let previous_instance = state.instance_id.clone();
    let ran_before = state.last_run_at.is_some();
    state.version = crate::state::STATE_VERSION;
    state.last_run_at = Some(now_rfc3339());
    notify::status("reading configuration and instance data");

    let effective = match instance::load(paths, local).await {
        Ok(effective) => effective,
        Err(load_error) => {
            // The commands that read it load (and report the error) for themselves.
            if let Err(e) = crate::effective::forget(paths) {
                tracing::warn!("{e:#}");
            }
            return run_without_config(paths, state, load_error, after_ready).await;
        }
    };
    if selection == Selection::Retry && effective.settings.acme.is_none() {
        // Only a CA can have changed its mind since; anything else waits for `run`.
        tracing::info!("ACME is off; nothing to retry");
        return Ok(RunResult::Completed);
    }
    state.run_error = None;
    let instance_id = instance_id(paths, &effective, previous_instance.clone());
    state.instance_id = instance_id.clone();
    let identity = identity::resolve(&effective.settings, &effective.instance, facts).await;
    state.identity = Some(identity.clone());
    // The state file and effective.json are written behind the run, and are whole on disk
    // before READY (the ledger's flush).
    let writes = WriteBehind::start();
    save_effective(
        paths,
        local,
        facts,
        &effective,
        &identity,
        instance_id.clone(),
        &writes,
    );
    let ledger = Ledger::new(paths.state_file(), state, &writes);
    let mut input = Input {
        paths,
        settings: Some(&effective.settings),
        identity,
        first_boot: !ran_before || previous_instance != instance_id,
        instance_id,
        observed: Observations::default(),
        progress: &ledger,
    };
    let mut apply = ApplyHandle::load(paths);
    let left = run_steps(&mut input, &mut apply, &ledger, selection).await?;
    finish(&input, &mut apply, &ledger, selection, left, after_ready).await
}

/// Whether `renew --retry` has something to retry: a step declared `retried` whose last
/// attempt did not succeed.
fn retry_due(state: &State) -> bool {
    STEPS.iter().filter(|step| step.retried).any(|step| {
        state
            .steps
            .get(step.name.as_str())
            .is_some_and(|r| r.state != StepState::Ok)
    })
}

/// This instance's id; on failure the last known one, rather than count this boot as a
/// new instance.
fn instance_id(
    paths: &Paths,
    effective: &instance::Effective,
    previous: Option<String>,
) -> Option<String> {
    match instance::instance_id(paths, effective.instance.instance_id.as_deref()) {
        Ok(id) => Some(id),
        Err(e) => {
            tracing::warn!("{e:#}");
            previous
        }
    }
}

/// Saves the effective configuration for the operations commands, through `writes`; on
/// failure (logged) they load for themselves, as before any run.
fn save_effective(
    paths: &Paths,
    local: &crate::config::Local,
    facts: &dyn crate::host::HostFacts,
    effective: &instance::Effective,
    identity: &crate::state::Identity,
    instance_id: Option<String>,
    writes: &WriteBehind,
) {
    use crate::effective::{OpsSettings, Saved};
    let (boot_id, drop_ins) = (facts.boot_id(), local.digest.clone());
    let operations = OpsSettings::from_settings(&effective.settings);
    let (config, identity, at) = (effective.config.clone(), identity.clone(), paths.clone());
    // Made behind the run too: serializing and writing it took 9 to 10 ms of a first boot
    // under TCG, 5 ms after this (the clones and the boot id stay in line).
    writes.queue(&paths.effective_file(), move || {
        Saved::new(
            boot_id,
            drop_ins,
            &config,
            operations,
            identity,
            instance_id,
        )?
        .save(&at)
    });
}

/// Runs the selected steps in order (skipping a once-per-instance step already done),
/// each recorded and saved, its effects folded; then, without a step that brings the
/// services up, refreshes the changed ones.
async fn run_steps(
    input: &mut Input<'_>,
    apply: &mut ApplyHandle,
    ledger: &Ledger<'_>,
    selection: Selection,
) -> Result<Left> {
    let mut left = Left::default();
    let selected: Vec<&Step> = STEPS.iter().filter(|s| selection.includes(s)).collect();
    apply.brings_up = selected.iter().any(|s| s.brings_up);
    for (i, step) in selected.iter().copied().enumerate() {
        let name = step.name.as_str();
        let done = already_done(
            step,
            selection,
            ledger.state().steps.get(name),
            input.instance_id.as_deref(),
        );
        if done {
            tracing::info!("{name}: already done for this instance");
            continue;
        }
        notify::status(&format!("step {name} ({}/{})", i + 1, selected.len()));
        let (record, effects) = run_step(step, input, apply).await;
        for effect in effects {
            fold(&mut input.observed, &mut left, step.name, effect);
        }
        left.any_failed |= record.state == StepState::Failed;
        // Saved when it says something new, so that status (and a crash) sees each
        // step's outcome as it comes (the ledger's thread writes it while the next step
        // runs); else with the run's last save.
        if ledger.put(step.name, record) {
            ledger.save()?;
        }
    }
    if !apply.brings_up {
        if let Some(note) = refresh_without_start(apply).await {
            let mut state = ledger.state();
            let last = selected
                .last()
                .and_then(|step| state.steps.get_mut(step.name.as_str()));
            match last {
                Some(record) => record.message.push_str(&note),
                None if !note.is_empty() => tracing::info!("{}", note.trim_start_matches("; ")),
                None => {}
            }
        }
    }
    Ok(left)
}

/// After the steps: their work for after all steps (in a whole run), READY with its
/// summary, the caller's `after_ready`, then their work for after READY.
async fn finish(
    input: &Input<'_>,
    apply: &mut ApplyHandle,
    ledger: &Ledger<'_>,
    selection: Selection,
    mut left: Left,
    after_ready: &dyn AfterReady,
) -> Result<RunResult> {
    if selection == Selection::All {
        do_later(When::AfterAllSteps, &mut left, input, apply, ledger).await;
    }
    // The file holds the whole run before READY: the banner's status reads it.
    ledger.flush()?;
    let summary = summary_line(&ledger.state());
    notify::ready(&summary);
    tracing::info!("{summary}");
    after_ready.after_ready(&mut apply.bus).await;
    if do_later(When::AfterReady, &mut left, input, apply, ledger).await {
        ledger.flush()?;
    }
    Ok(if left.any_failed {
        RunResult::StepFailed
    } else {
        RunResult::Completed
    })
}

/// Does the steps' work for `when`, each outcome merged into its step's record as the
/// step says; whether a record changed.
async fn do_later(
    when: When,
    left: &mut Left,
    ctx: &Input<'_>,
    apply: &mut ApplyHandle,
    ledger: &Ledger<'_>,
) -> bool {
    let mut changed = false;
    for (step, _, later) in left.later.iter().filter(|(_, w, _)| *w == when) {
        let started_at = now_rfc3339();
        let clock = Instant::now();
        let Some(outcome) = later.run(ctx, apply).await else {
            continue;
        };
        let outcome = redacted(ctx, outcome);
        let record = record(*step, outcome, started_at, clock, ctx.instance_id.clone());
        let merged = later.merge(ledger.state().steps.get(step.as_str()), record);
        left.any_failed |= merged.state == StepState::Failed;
        changed |= ledger.put(*step, merged);
    }
    changed
}

/// Whether `step` is skipped in this run: a once-per-instance step that already
/// succeeded for this instance id, unless the run is not the whole pipeline (`run --step`
/// forces it).
fn already_done(
    step: &Step,
    selection: Selection,
    last: Option<&StepRecord>,
    instance_id: Option<&str>,
) -> bool {
    selection == Selection::All
        && step.runs == Runs::OncePerInstance
        && last.is_some_and(|done| {
            done.state == StepState::Ok && done.instance_id.as_deref() == instance_id
        })
}

/// Where a step's effect goes: an observation into the later steps' input, work for
/// later to the runner. The only place data moves from one step to another.
fn fold(observed: &mut Observations, left: &mut Left, step: StepName, effect: Effect) {
    match effect {
        Effect::CertificateDecided(decision) => observed.certificate = Some(decision),
        Effect::CertificateLive(pair) => {
            // What dns-wait decided on before tls ran is no longer what is installed.
            observed.certificate = None;
            observed.live_pair = Some(pair);
        }
        Effect::SecretsInPlace(secrets) => observed.secrets = Some(secrets),
        Effect::Later(when, later) => left.later.push((step, when, later)),
    }
}

/// Runs one step: its outcome as a state record (redacted, timed), and its effects.
async fn run_step(
    step: &Step,
    ctx: &Input<'_>,
    apply: &mut ApplyHandle,
) -> (StepRecord, Vec<Effect>) {
    let started_at = now_rfc3339();
    let clock = Instant::now();
    let result: Result<Ran> = (step.run)(ctx, apply).await;
    let ran = result.unwrap_or_else(|e| Outcome::failed(format!("{e:#}")).into());
    let outcome = redacted(ctx, ran.outcome);
    let record = record(
        step.name,
        outcome,
        started_at,
        clock,
        ctx.instance_id.clone(),
    );
    (record, ran.effects)
}

/// `outcome` with every configured credential, in any form, removed from its message:
/// steps quote what providers and CAs answered, and some answers echo the request.
fn redacted(ctx: &Input<'_>, mut outcome: Outcome) -> Outcome {
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

/// Without valid configuration or instance data no step can do its real work; still have
/// each step that declares it keep the server usable (a fallback certificate), and say
/// why in the state file.
async fn run_without_config(
    paths: &Paths,
    mut state: State,
    load_error: LoadError,
    after_ready: &dyn AfterReady,
) -> Result<RunResult> {
    let error = format!("{:#}", load_error.error());
    tracing::error!("{error}");
    state.run_error = Some(error.clone());
    if let LoadError::Source(_) = load_error {
        // The identity record says why the instance source could not be read.
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
    let input = Input {
        paths,
        settings: None,
        identity: state.identity.clone().unwrap_or_default(),
        first_boot: false,
        instance_id: None,
        observed: Observations::default(),
        progress: &NoProgress,
    };
    let mut apply = ApplyHandle::load(paths);
    for step in &STEPS {
        let Some(without_config) = step.without_config else {
            continue;
        };
        if let Err(e) = without_config(&input, &mut apply) {
            tracing::error!("{}: {e:#}", step.name.as_str());
        }
    }
    if let Some(note) = refresh_without_start(&mut apply).await {
        if !note.is_empty() {
            tracing::info!("{}", note.trim_start_matches("; "));
        }
    }
    state.save(&paths.state_file())?;
    notify::ready(&format!("failed: {error}"));
    after_ready.after_ready(&mut apply.bus).await;
    Ok(RunResult::NotStarted)
}

/// In a run without a step that brings the services up (`renew`, `run --step`, no
/// configuration), reloads or restarts the running services whose configuration changed,
/// or was left pending by an earlier run. Returns the note for the last step's record, or
/// `None` when nothing was to be done or systemd could not be reached.
async fn refresh_without_start(apply: &mut ApplyHandle) -> Option<String> {
    if apply.refreshes.is_empty() {
        return None;
    }
    match apply.bus.systemd().await {
        Ok(systemd) => Some(
            match apply::bring_up(&mut apply.refreshes, systemd, false).await {
                Ok(report) => report.refreshed_note(),
                Err(e) => format!("; running services not reloaded: {e:#}"),
            },
        ),
        Err(e) => {
            // No systemd to ask (a chroot, an image build): nothing runs that could take
            // the change now, and the record keeps it for the next run with one.
            let waiting: Vec<&str> = apply
                .refreshes
                .pending()
                .iter()
                .map(|s| s.short())
                .collect();
            tracing::warn!(
                "{} left to refresh at the next run: {e:#}",
                waiting.join(", ")
            );
            None
        }
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::jitsi::secrets::Secrets;
    use crate::pipeline::certificate::{Decision, Observed};
    use crate::plan::certificate::{CertificatePlan, Origin};
    use crate::state::Identity;
    use crate::tls::selfsigned;

    /// An input with no settings, the default identity and nothing observed yet.
    pub(crate) fn input(paths: &Paths) -> Input<'_> {
        Input {
            paths,
            settings: None,
            identity: Identity::default(),
            first_boot: false,
            instance_id: Some("i-1".into()),
            observed: Observations::default(),
            progress: &NoProgress,
        }
    }

    fn pair() -> crate::tls::Pair {
        selfsigned::generate(
            &["meet.example.org".to_string()],
            time::OffsetDateTime::now_utc(),
        )
        .expect("a self-signed pair")
    }

    fn record(state: StepState, instance_id: Option<&str>) -> StepRecord {
        StepRecord {
            state,
            message: String::new(),
            started_at: "2026-01-01T00:00:00Z".into(),
            duration_ms: 0,
            last_error: None,
            instance_id: instance_id.map(str::to_string),
        }
    }

    #[test]
    fn each_step_declares_its_name_frequency_and_renewal() {
        // (step, how often, whether `renew` runs it), in pipeline order.
        let cases = [
            (StepName::Identity, Runs::EveryBoot, false),
            (StepName::Firewall, Runs::EveryBoot, false),
            (StepName::Ddns, Runs::EveryBoot, false),
            (StepName::DnsWait, Runs::EveryBoot, true),
            (StepName::Tls, Runs::EveryBoot, true),
            (StepName::Secrets, Runs::OncePerInstance, false),
            (StepName::Jitsi, Runs::EveryBoot, false),
            (StepName::Tune, Runs::EveryBoot, false),
            (StepName::Access, Runs::EveryBoot, false),
            (StepName::Schedule, Runs::EveryBoot, false),
            (StepName::Updates, Runs::EveryBoot, false),
            (StepName::Start, Runs::EveryBoot, false),
        ];
        assert_eq!(cases.len(), STEPS.len());
        for (i, (name, runs, renews)) in cases.into_iter().enumerate() {
            assert_eq!(StepName::ALL[i], name);
            assert_eq!(STEPS[i].name, name);
            let step = name.step();
            assert_eq!(step.name, name);
            assert_eq!(step.runs, runs, "{}", name.as_str());
            assert_eq!(step.renews, renews, "{}", name.as_str());
            // tls alone decides `renew --retry`; start alone brings the services up.
            assert_eq!(step.retried, name == StepName::Tls, "{}", name.as_str());
            assert_eq!(step.brings_up, name == StepName::Start, "{}", name.as_str());
            let fallback = step.without_config.is_some();
            assert_eq!(fallback, name == StepName::Tls, "{}", name.as_str());
        }
    }

    #[test]
    fn a_selection_covers_the_declared_steps() {
        let names = |selection: Selection| -> Vec<&str> {
            STEPS
                .iter()
                .filter(|s| selection.includes(s))
                .map(|s| s.name.as_str())
                .collect()
        };
        assert_eq!(names(Selection::All).len(), STEPS.len());
        assert_eq!(names(Selection::Renew), ["dns-wait", "tls"]);
        assert_eq!(names(Selection::Retry), ["dns-wait", "tls"]);
        assert_eq!(names(Selection::Only(StepName::Secrets)), ["secrets"]);
    }

    #[test]
    fn a_once_per_instance_step_is_skipped_only_when_done_for_this_instance() {
        let secrets = StepName::Secrets.step();
        let jitsi = StepName::Jitsi.step();
        let last = |state: StepState, id: Option<&str>| Some(record(state, id));
        let (all, forced) = (Selection::All, Selection::Only(StepName::Secrets));
        let (ok, failed, degraded) = (StepState::Ok, StepState::Failed, StepState::Degraded);
        // (step, selection, its last record, this instance, skipped)
        let cases = [
            (secrets, all, last(ok, Some("i-1")), Some("i-1"), true),
            (secrets, all, last(ok, None), None, true),
            (secrets, all, last(ok, Some("i-1")), Some("i-2"), false),
            (secrets, all, last(ok, None), Some("i-1"), false),
            (secrets, all, last(failed, Some("i-1")), Some("i-1"), false),
            (
                secrets,
                all,
                last(degraded, Some("i-1")),
                Some("i-1"),
                false,
            ),
            (secrets, all, None, Some("i-1"), false),
            // `run --step secrets` forces it.
            (secrets, forced, last(ok, Some("i-1")), Some("i-1"), false),
            // An every-boot step runs whatever it did before.
            (jitsi, all, last(ok, Some("i-1")), Some("i-1"), false),
        ];
        for (i, (step, selection, last, instance, skipped)) in cases.into_iter().enumerate() {
            assert_eq!(
                already_done(step, selection, last.as_ref(), instance),
                skipped,
                "row {i}: {} {selection:?}",
                step.name.as_str()
            );
        }
    }

    /// Work left for later that records a fixed outcome and keeps the later message.
    struct Fixed(Option<StepState>);

    impl Later for Fixed {
        fn run<'r>(
            &'r self,
            _: &'r Input<'_>,
            _: &'r mut ApplyHandle,
        ) -> StepFuture<'r, Option<Outcome>> {
            let outcome = self.0.map(|state| Outcome {
                state,
                message: "later".into(),
            });
            Box::pin(async move { outcome })
        }
        fn merge(&self, _: Option<&StepRecord>, later: StepRecord) -> StepRecord {
            later
        }
    }

    #[test]
    fn effects_become_the_later_steps_observations_or_work_for_later() {
        type Made = fn() -> Effect;
        let decided: Made = || {
            let pair = Some((pair(), Origin::SelfSigned));
            Effect::CertificateDecided(Box::new(Decision {
                observed: Observed::pair_only(pair),
                plan: CertificatePlan::Keep,
            }))
        };
        let live: Made = || Effect::CertificateLive(pair());
        let secrets: Made =
            || Effect::SecretsInPlace(Secrets::generate(Some("i-1".into())).expect("secrets"));
        let later: Made = || Effect::Later(When::AfterReady, Box::new(Fixed(None)));
        // (effects in order; then: the certificate decision, live pair, secrets, work for
        // later)
        let cases: [(&[Made], [bool; 4]); 6] = [
            (&[], [false; 4]),
            (&[decided], [true, false, false, false]),
            // tls's pair replaces what dns-wait decided on before it.
            (&[decided, live], [false, true, false, false]),
            (&[secrets], [false, false, true, false]),
            // Work for later is the runner's: no step sees it.
            (&[later], [false, false, false, true]),
            (&[decided, live, secrets, later], [false, true, true, true]),
        ];
        for (i, (effects, expected)) in cases.into_iter().enumerate() {
            let mut observations = Observations::default();
            let mut left = Left::default();
            for made in effects {
                fold(&mut observations, &mut left, StepName::Tls, made());
            }
            let got = [
                observations.certificate.is_some(),
                observations.live_pair.is_some(),
                observations.secrets.is_some(),
                !left.later.is_empty(),
            ];
            assert_eq!(
                got,
                expected,
                "row {i}: {effects:?}",
                effects = effects.iter().map(|m| m()).collect::<Vec<_>>()
            );
        }
    }

    #[tokio::test]
    async fn work_for_later_runs_at_its_time_and_amends_its_steps_record() {
        let root = tempfile::tempdir().expect("a temporary folder");
        let paths = Paths::new(root.path());
        let ctx = input(&paths);
        let mut apply = ApplyHandle::load(&paths);
        let writes = WriteBehind::start();
        let ledger = Ledger::new(paths.state_file(), State::default(), &writes);
        let mut left = Left::default();
        let work = [
            (StepName::Ddns, When::AfterAllSteps, Some(StepState::Failed)),
            (StepName::Schedule, When::AfterReady, None),
        ];
        for (step, when, outcome) in work {
            left.later.push((step, when, Box::new(Fixed(outcome))));
        }
        // Nothing to do after READY yet: the failure is the after-all-steps work's.
        assert!(!do_later(When::AfterReady, &mut left, &ctx, &mut apply, &ledger).await);
        assert!(ledger.state().steps.is_empty());
        assert!(do_later(When::AfterAllSteps, &mut left, &ctx, &mut apply, &ledger).await);
        assert!(left.any_failed);
        let state = ledger.state();
        assert_eq!(state.steps.len(), 1);
        assert_eq!(state.steps["ddns"].message, "later");
    }
}
