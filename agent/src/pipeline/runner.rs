//! The runner: one run at a time (the lock), the configuration loaded once, the selected
//! steps in order with each outcome in the state file, their effects folded into the
//! next steps' input, READY, then the timers.

use super::steps::{
    access, ddns, dns_wait, firewall, identity, jitsi, schedule, secrets, start, tls, tune, updates,
};
use super::{ApplyHandle, Effect, Input, Observations, Outcome, Ran, Runs, Step, StepName, STEPS};
use crate::apply;
use crate::instance::{self, LoadError};
use crate::paths::Paths;
use crate::state::{now_rfc3339, State, StepRecord, StepState};
use crate::systemd::notify;
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
    /// As `Renew`, but only when the last certificate attempt did not succeed (the retry timer).
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

/// Runs the selected steps in order, recording each in the state file. One run at a time:
/// the boot's run, the renewal timer's and the retry timer's wait for each other.
/// `local` is the drop-ins as the command read them, `facts` this machine's.
pub async fn run(
    paths: &Paths,
    local: &crate::config::Local,
    facts: &dyn crate::host::HostFacts,
    selection: Selection,
) -> Result<RunResult> {
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

    let effective = match instance::load(paths, local).await {
        Ok(effective) => effective,
        Err(load_error) => {
            // The commands that read it load (and report the error) for themselves.
            if let Err(e) = crate::effective::forget(paths) {
                tracing::warn!("{e:#}");
            }
            let seen = crate::status::Seen {
                facts,
                drop_ins: &local.digest,
            };
            return run_without_config(paths, seen, &mut state, load_error).await;
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

    let mut input = Input {
        paths,
        settings: Some(&effective.settings),
        identity: identity::resolve(&effective.settings, &effective.instance, facts).await,
        first_boot: !ran_before || previous_instance != instance_id,
        instance_id: instance_id.clone(),
        observed: Observations::default(),
        snapshot: State::default(),
    };
    let mut apply = ApplyHandle {
        refreshes: apply::Refreshes::load(paths),
        bus: apply::Bus::new(),
    };
    state.identity = Some(input.identity.clone());
    let saved = crate::effective::Saved::new(
        facts,
        &local.digest,
        &effective.config,
        &effective.settings,
        &input.identity,
        instance_id.clone(),
    )
    .and_then(|saved| saved.save(paths));
    if let Err(e) = saved {
        // The operations commands then load for themselves, as before any run.
        tracing::warn!("{e:#}");
    }

    let mut any_failed = false;
    let mut timers = None;
    let selected: Vec<&Step> = STEPS.iter().filter(|s| selection.includes(s)).collect();
    for (i, step) in selected.iter().copied().enumerate() {
        let name = step.name.as_str();
        if already_done(
            step,
            selection,
            state.steps.get(name),
            instance_id.as_deref(),
        ) {
            tracing::info!("{name}: already done for this instance");
            continue;
        }
        notify::status(&format!("step {name} ({}/{})", i + 1, selected.len()));
        input.snapshot = state.clone();
        let (record, effects) = run_step(step.name, &input, &mut apply).await;
        for effect in effects {
            fold(&mut input.observed, &mut timers, effect);
        }
        any_failed |= record.state == StepState::Failed;
        state.steps.insert(name.to_string(), record);
        state.save(&state_path)?;
    }
    if !selected.iter().any(|s| s.name == StepName::Start) {
        let last = selected
            .last()
            .and_then(|step| state.steps.get_mut(step.name.as_str()));
        refresh_without_start(&mut apply, last).await;
    }
    if selection == Selection::All {
        // The CloudFormation template's "post-installation" call: providers that want it
        // hear from us again once the stack runs.
        if let Some(record) = run_after_start(&input).await {
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
    let seen = crate::status::Seen {
        facts,
        drop_ins: &local.digest,
    };
    console_banner(paths, seen, &mut apply.bus).await;
    if let Some(plan) = timers {
        // After READY: the stack is starting and serving meanwhile.
        if let Err(problem) = schedule::apply(&plan, &mut apply.bus, &mut apply.refreshes).await {
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

/// Where a step's effect goes: an observation into the later steps' input, the timer plan
/// to the runner, for after READY. The only place data moves from one step to another.
fn fold(observed: &mut Observations, timers: &mut Option<schedule::TimerPlan>, effect: Effect) {
    match effect {
        Effect::DnsNotAnswering { reason } => observed.dns_not_answering = Some(reason),
        Effect::CertificateObserved(certificate) => observed.certificate = Some(certificate),
        Effect::CertificateLive(pair) => {
            // What dns-wait saw before tls ran is no longer what is installed.
            observed.certificate = None;
            observed.live_pair = Some(pair);
        }
        Effect::SecretsInPlace(secrets) => observed.secrets = Some(secrets),
        Effect::ArmTimers(plan) => *timers = Some(plan),
    }
}

/// Runs one step: its outcome as a state record (redacted, timed), and its effects.
async fn run_step(
    step: StepName,
    ctx: &Input<'_>,
    apply: &mut ApplyHandle,
) -> (StepRecord, Vec<Effect>) {
    let started_at = now_rfc3339();
    let clock = Instant::now();
    let result: Result<Ran> = match step {
        StepName::Identity => identity::run(ctx).map(Ran::from),
        StepName::Ddns => ddns::run(ctx, ddns::Phase::Boot).await.map(Ran::from),
        StepName::DnsWait => dns_wait::run(ctx).await,
        StepName::Tls => tls::run(ctx, apply).await,
        StepName::Secrets => secrets::run(ctx),
        StepName::Jitsi => jitsi::run(ctx, apply).map(Ran::from),
        StepName::Tune => tune::run(ctx, apply).await.map(Ran::from),
        StepName::Firewall => firewall::run(ctx, apply).map(Ran::from),
        StepName::Access => access::run(ctx).map(Ran::from),
        StepName::Schedule => schedule::run(ctx, apply).await,
        StepName::Updates => updates::run(ctx).await.map(Ran::from),
        StepName::Start => start::run(ctx, apply).await.map(Ran::from),
    };
    let ran = result.unwrap_or_else(|e| Outcome::failed(format!("{e:#}")).into());
    let outcome = redacted(ctx, ran.outcome);
    let record = record(step, outcome, started_at, clock, ctx.instance_id.clone());
    (record, ran.effects)
}

/// The ddns updates due after the stack started, as the ddns step's new record.
async fn run_after_start(ctx: &Input<'_>) -> Option<StepRecord> {
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
        ctx.instance_id.clone(),
    ))
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

/// Without valid configuration or instance data no step can do its real work; still keep
/// the server reachable (a fallback certificate) and say why in the state file.
async fn run_without_config(
    paths: &Paths,
    seen: crate::status::Seen<'_>,
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
    let input = Input {
        paths,
        settings: None,
        identity: state.identity.clone().unwrap_or_default(),
        first_boot: false,
        instance_id: None,
        observed: Observations::default(),
        snapshot: State::default(),
    };
    let mut apply = ApplyHandle {
        refreshes: apply::Refreshes::load(paths),
        bus: apply::Bus::new(),
    };
    if let Err(e) = tls::ensure_fallback(&input, &mut apply) {
        tracing::error!("tls: could not install a fallback certificate: {e:#}");
    }
    refresh_without_start(&mut apply, None).await;
    state.save(&paths.state_file())?;
    notify::ready(&format!("failed: {error}"));
    console_banner(paths, seen, &mut apply.bus).await;
    Ok(RunResult::NotStarted)
}

/// Writes the console's pre-login summary (agetty shows it above the login prompt) and
/// asks running agettys to show it again. A failure costs only the banner.
async fn console_banner(paths: &Paths, seen: crate::status::Seen<'_>, bus: &mut apply::Bus) {
    let report =
        match crate::status::collect_over(paths, seen, bus, crate::status::Reach::Local).await {
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
async fn refresh_without_start(apply: &mut ApplyHandle, record: Option<&mut StepRecord>) {
    if apply.refreshes.is_empty() {
        return;
    }
    let note = match apply.bus.systemd().await {
        Ok(systemd) => match apply::bring_up(&mut apply.refreshes, systemd, false).await {
            Ok(report) => report.refreshed_note(),
            Err(e) => format!("; running services not reloaded: {e:#}"),
        },
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::jitsi::secrets::Secrets;
    use crate::plan::certificate::{Dns, Origin};
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
            snapshot: State::default(),
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
            (StepName::Ddns, Runs::EveryBoot, false),
            (StepName::DnsWait, Runs::EveryBoot, true),
            (StepName::Tls, Runs::EveryBoot, true),
            (StepName::Secrets, Runs::OncePerInstance, false),
            (StepName::Jitsi, Runs::EveryBoot, false),
            (StepName::Tune, Runs::EveryBoot, false),
            (StepName::Firewall, Runs::EveryBoot, false),
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

    #[test]
    fn dns_wait_not_answering_blocks_the_tls_order() {
        let paths = Paths::new("/nonexistent");
        let mut input = input(&paths);
        let mut timers = None;
        assert_eq!(tls::dns(&input), Dns::Ready);
        fold(
            &mut input.observed,
            &mut timers,
            Effect::DnsNotAnswering {
                reason: "see dns-wait".into(),
            },
        );
        assert_eq!(tls::dns(&input), Dns::Blocked("see dns-wait".into()));
        assert!(timers.is_none());
    }

    #[test]
    fn effects_become_the_later_steps_observations() {
        type Made = fn() -> Effect;
        let not_answering: Made = || Effect::DnsNotAnswering {
            reason: "timed out".into(),
        };
        let observed: Made = || {
            let pair = Some((pair(), Origin::SelfSigned));
            Effect::CertificateObserved(Box::new(tls::Observed::pair_only(pair)))
        };
        let live: Made = || Effect::CertificateLive(pair());
        let secrets: Made =
            || Effect::SecretsInPlace(Secrets::generate(Some("i-1".into())).expect("secrets"));
        let timers: Made = || Effect::ArmTimers(schedule::TimerPlan::default());
        // (effects in order; then: DNS blocked, dns-wait's certificate reading, live pair,
        // secrets, timers to arm)
        let cases: [(&[Made], [bool; 5]); 8] = [
            (&[], [false; 5]),
            (&[not_answering], [true, false, false, false, false]),
            (&[observed], [false, true, false, false, false]),
            // tls's pair replaces what dns-wait saw before it.
            (&[observed, live], [false, false, true, false, false]),
            (
                &[not_answering, observed, live],
                [true, false, true, false, false],
            ),
            (&[secrets], [false, false, false, true, false]),
            // Timers are the runner's, for after READY: no step sees them.
            (&[timers], [false, false, false, false, true]),
            (
                &[not_answering, observed, live, secrets, timers],
                [true, false, true, true, true],
            ),
        ];
        for (i, (effects, expected)) in cases.into_iter().enumerate() {
            let mut observations = Observations::default();
            let mut armed = None;
            for made in effects {
                fold(&mut observations, &mut armed, made());
            }
            let got = [
                observations.dns_not_answering.is_some(),
                observations.certificate.is_some(),
                observations.live_pair.is_some(),
                observations.secrets.is_some(),
                armed.is_some(),
            ];
            assert_eq!(
                got,
                expected,
                "row {i}: {effects:?}",
                effects = effects.iter().map(|m| m()).collect::<Vec<_>>()
            );
        }
    }
}
