//! Scale-in without cutting meetings. When Auto Scaling picks this bridge for termination
//! (a termination lifecycle hook holds the instance in `Terminating:Wait` and IMDS's
//! `autoscaling/target-lifecycle-state` turns `Terminated`) or EC2 sends a spot
//! interruption notice (`spot/instance-action`), the bridge is asked once for graceful
//! shutdown (no new conferences; jicofo moves new ones elsewhere), the agent waits until
//! its conferences have ended or the bound passes (heartbeating the hook when the bound is
//! longer than its heartbeat timeout), completes the lifecycle action with `CONTINUE` and
//! powers off through logind.
//!
//! [`decide`] is the whole policy as a pure function of the time since the runner started,
//! what was just observed and what was done so far; [`Runner`] observes, decides, acts.
//!
//! Wiring passes in: the [`LifecycleAction`] (group from the IMDS tag, the hook's name from
//! configuration, the instance id from IMDS), [`Bounds`] from the hook itself
//! ([`hook_bounds`]: its `HeartbeatTimeout`, and a wait that ends before its
//! `GlobalTimeout`), and [`Logind`].

use super::workload::Workload;
use crate::aws::api::{Aws, HookTimeouts, LifecycleAction, LifecycleResult};
use crate::aws::imds::{Imds, LifecycleState};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The drain's time limits.
#[derive(Debug, Clone)]
pub struct Bounds {
    /// Longest wait for conferences to end once the drain starts: two hours, or less when
    /// the hook's global timeout (AWS's: 100 heartbeat timeouts, at most 48 hours) is
    /// shorter.
    pub max_wait: Duration,
    /// The hook's `HeartbeatTimeout`: without a heartbeat AWS goes on after this long.
    /// Heartbeats are sent every half of it, only when the wait can outlast it.
    pub heartbeat_timeout: Duration,
    /// How long a spot notice leaves for the drain: EC2 gives two minutes; the default
    /// keeps 20 s of it for completing and powering off.
    pub spot_window: Duration,
    /// Consecutive polls without an answer from the bridge that mean it has exited (a
    /// bridge in graceful shutdown exits by itself once its last conference ends).
    pub silent_polls: u32,
    /// Failed `CompleteLifecycleAction` attempts after which the machine powers off all
    /// the same (Auto Scaling then finishes the termination at the hook's timeout).
    pub complete_attempts: u32,
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            max_wait: Duration::from_secs(2 * 3600),
            heartbeat_timeout: Duration::from_secs(3600),
            spot_window: Duration::from_secs(100),
            silent_polls: 3,
            complete_attempts: 3,
        }
    }
}

impl Bounds {
    /// The bounds of a drain held by a hook with `timeouts`: heartbeat before its heartbeat
    /// timeout runs out (every half of it), and complete before its global timeout, with a
    /// margin (a tenth of it, at most a minute) for the poll that notices the termination a
    /// little after it began and for completing.
    pub fn for_hook(timeouts: &HookTimeouts) -> Self {
        let margin = (timeouts.global / 10).min(Duration::from_secs(60));
        Self {
            // Never longer than the default two hours either: AWS's global timeout is 100
            // heartbeat timeouts (48 h with the template's hook), and a room someone left
            // open in a browser tab must not keep a bridge billed for two days.
            max_wait: timeouts
                .global
                .saturating_sub(margin)
                .min(Self::default().max_wait),
            heartbeat_timeout: timeouts.heartbeat,
            ..Self::default()
        }
    }
}

/// The drain's bounds for `action`'s hook as Auto Scaling describes it
/// (`DescribeLifecycleHooks`), with one line saying where they came from. When the hook
/// cannot be read (no permission, no answer, no such hook) the defaults apply, matching the
/// CloudFormation template's hook, and the line says why.
pub async fn hook_bounds(aws: &Aws, action: &LifecycleAction) -> (Bounds, String) {
    let found = aws
        .describe_lifecycle_hook(&action.group, &action.hook)
        .await;
    let problem = match found {
        Ok(Some(timeouts)) => {
            let bounds = Bounds::for_hook(&timeouts);
            let line = format!(
                "drain bound from lifecycle hook {}: heartbeat timeout {}s, global timeout {}s; waiting at most {}s for conferences",
                action.hook,
                timeouts.heartbeat.as_secs(),
                timeouts.global.as_secs(),
                bounds.max_wait.as_secs()
            );
            return (bounds, line);
        }
        Ok(None) => format!(
            "group {} has no lifecycle hook named {} (bridge.drain_hook)",
            action.group, action.hook
        ),
        Err(e) => e.to_string(),
    };
    let bounds = Bounds::default();
    let line = format!(
        "could not read lifecycle hook {} ({problem}); using the default drain bound: heartbeat timeout {}s, waiting at most {}s for conferences",
        action.hook,
        bounds.heartbeat_timeout.as_secs(),
        bounds.max_wait.as_secs()
    );
    (bounds, line)
}

/// What one poll saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// `autoscaling/target-lifecycle-state`; `None` outside a group or when unreadable.
    pub lifecycle: Option<LifecycleState>,
    /// Whether `spot/instance-action` holds a notice.
    pub spot_notice: bool,
    /// The bridge's conference count; `None` when it did not answer.
    pub conferences: Option<u64>,
}

/// What the runner has seen and done so far (kept between polls).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    /// When the drain started (time since the runner started).
    pub started_at: Option<Duration>,
    /// When the first spot notice was seen.
    pub spot_at: Option<Duration>,
    /// Whether the lifecycle state was ever `Terminated`: a hook waits for completion.
    pub hook: bool,
    /// Whether the bridge accepted the graceful-shutdown request.
    pub shutdown_requested: bool,
    /// When the last heartbeat was accepted.
    pub last_heartbeat: Option<Duration>,
    /// Consecutive polls without an answer from the bridge.
    pub silent_polls: u32,
    /// Whether `CompleteLifecycleAction` succeeded.
    pub completed: bool,
    /// Failed `CompleteLifecycleAction` attempts.
    pub complete_failures: u32,
    /// Whether logind accepted the power-off.
    pub powered_off: bool,
}

impl Progress {
    /// Records what a poll at `now` saw: a trigger starts the drain (once).
    pub fn note(&mut self, now: Duration, observed: &Observed) {
        if observed.lifecycle == Some(LifecycleState::Terminated) {
            self.hook = true;
            self.started_at.get_or_insert(now);
        }
        if observed.spot_notice {
            self.spot_at.get_or_insert(now);
            self.started_at.get_or_insert(now);
        }
        // Before the drain the bridge is not asked, so its silence means nothing.
        if self.started_at.is_some() {
            self.silent_polls = match observed.conferences {
                Some(_) => 0,
                None => self.silent_polls.saturating_add(1),
            };
        }
    }
}

/// Why the wait is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    /// The bridge reports no conference.
    NoConference,
    /// The bridge stopped answering (it exits after its last conference).
    BridgeGone,
    /// The bound passed with conferences left (`None`: count unknown).
    BoundReached(Option<u64>),
}

/// The next thing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// No termination is under way: keep watching.
    Watch,
    /// Ask the bridge for graceful shutdown.
    RequestShutdown,
    /// Extend the hook's heartbeat timeout.
    Heartbeat,
    /// Conferences remain: wait.
    Wait {
        /// The bridge's count (`None`: it did not answer this time).
        conferences: Option<u64>,
        /// Until the bound.
        left: Duration,
    },
    /// Complete the lifecycle action (CONTINUE).
    Complete(Finished),
    /// Power off.
    PowerOff(Finished),
    /// Power-off accepted; nothing more to do.
    Done,
}

impl Decision {
    /// One line for status.
    pub fn status(&self) -> String {
        match self {
            Decision::Watch => "in service".into(),
            Decision::RequestShutdown => {
                "leaving the group: asking the videobridge to shut down gracefully".into()
            }
            Decision::Heartbeat => "leaving the group: extending the lifecycle hook".into(),
            Decision::Wait { conferences, left } => format!(
                "leaving the group: waiting for {} to end (at most {}s more)",
                conferences.map_or("the conferences".to_string(), |n| format!(
                    "{n} conference(s)"
                )),
                left.as_secs()
            ),
            Decision::Complete(f) => {
                format!("leaving the group: completing the lifecycle action ({f:?})")
            }
            Decision::PowerOff(f) => format!("leaving the group: powering off ({f:?})"),
            Decision::Done => "leaving the group: power-off requested".into(),
        }
    }
}

/// The policy. `now` is the time since the runner started; `progress` already holds
/// `observed` (see [`Progress::note`]).
pub fn decide(
    now: Duration,
    observed: &Observed,
    progress: &Progress,
    bounds: &Bounds,
) -> Decision {
    if progress.powered_off {
        return Decision::Done;
    }
    let Some(started) = progress.started_at else {
        return Decision::Watch;
    };
    let mut deadline = started + bounds.max_wait;
    if let Some(spot) = progress.spot_at {
        deadline = deadline.min(spot + bounds.spot_window);
    }
    let finished = match observed.conferences {
        Some(0) => Some(Finished::NoConference),
        None if progress.silent_polls >= bounds.silent_polls => Some(Finished::BridgeGone),
        left if now >= deadline => Some(Finished::BoundReached(left)),
        _ => None,
    };
    if let Some(finished) = finished {
        // An answering bridge is told to take no new conference before the hook completes,
        // so nothing lands on it between this poll and the power-off.
        if !progress.shutdown_requested && observed.conferences.is_some() && now < deadline {
            return Decision::RequestShutdown;
        }
        if progress.hook
            && !progress.completed
            && progress.complete_failures < bounds.complete_attempts
        {
            return Decision::Complete(finished);
        }
        return Decision::PowerOff(finished);
    }
    if !progress.shutdown_requested && observed.conferences.is_some() {
        return Decision::RequestShutdown;
    }
    let since = progress.last_heartbeat.unwrap_or(started);
    // Heartbeat when the wait can reach the hook's timeout; a tenth of slack so that a
    // completion due at about the moment the hook would time out is not left to a race
    // (the poll that completes may come a little after the deadline).
    if progress.hook
        && deadline + bounds.heartbeat_timeout / 10 >= since + bounds.heartbeat_timeout
        && now.saturating_sub(since) >= bounds.heartbeat_timeout / 2
    {
        return Decision::Heartbeat;
    }
    Decision::Wait {
        conferences: observed.conferences,
        left: deadline.saturating_sub(now),
    }
}

/// Powers the machine off; a trait so the runner can be tested without one.
pub trait PowerOff {
    /// Asks for the power-off; `Ok` once it is accepted.
    fn power_off(&self) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Power-off through systemd-logind on the system bus (`DBUS_SYSTEM_BUS_ADDRESS`).
pub struct Logind;

impl PowerOff for Logind {
    fn power_off(&self) -> impl Future<Output = anyhow::Result<()>> + Send {
        crate::ops::power::request(crate::ops::power::Action::PowerOff)
    }
}

/// Observes, decides and acts until the machine powers off.
pub struct Runner<P, W> {
    imds: Arc<Imds>,
    aws: Arc<Aws>,
    bridge: W,
    action: LifecycleAction,
    bounds: Bounds,
    poll: Duration,
    power: P,
}

impl<P: PowerOff, W: Workload> Runner<P, W> {
    /// A runner polling every `poll` (AWS suggests 5 s for spot notices); `bridge` is the
    /// workload drained (the videobridge, or jibri on a recorder).
    pub fn new(
        imds: Arc<Imds>,
        aws: Arc<Aws>,
        bridge: W,
        action: LifecycleAction,
        bounds: Bounds,
        poll: Duration,
        power: P,
    ) -> Self {
        Self {
            imds,
            aws,
            bridge,
            action,
            bounds,
            poll,
            power,
        }
    }

    async fn observe(&self, draining: bool) -> Observed {
        let lifecycle = match self.imds.lifecycle_state().await {
            Ok(state) => state,
            Err(e) => {
                tracing::warn!("{e}");
                None
            }
        };
        let spot_notice = match self.imds.spot_notice().await {
            Ok(notice) => notice.is_some(),
            Err(e) => {
                tracing::warn!("{e}");
                false
            }
        };
        // The bridge is read only once a trigger is seen: in service it is none of our
        // business here (the metrics publisher reads it).
        let conferences =
            if draining || lifecycle == Some(LifecycleState::Terminated) || spot_notice {
                self.bridge.in_progress().await
            } else {
                None
            };
        Observed {
            lifecycle,
            spot_notice,
            conferences,
        }
    }

    /// Runs until logind accepts the power-off, handing each decision to `report`.
    pub async fn run(self, mut report: impl FnMut(&Decision)) {
        let start = Instant::now();
        let mut progress = Progress::default();
        loop {
            let observed = self.observe(progress.started_at.is_some()).await;
            let now = start.elapsed();
            progress.note(now, &observed);
            let decision = decide(now, &observed, &progress, &self.bounds);
            report(&decision);
            let acted = match &decision {
                Decision::Done => return,
                Decision::Watch | Decision::Wait { .. } => false,
                Decision::RequestShutdown => match self.bridge.stop_taking_work().await {
                    Ok(()) => {
                        progress.shutdown_requested = true;
                        true
                    }
                    Err(e) => {
                        tracing::warn!("graceful shutdown not accepted: {e}");
                        false
                    }
                },
                Decision::Heartbeat => {
                    match self
                        .aws
                        .record_lifecycle_action_heartbeat(&self.action)
                        .await
                    {
                        Ok(()) => {
                            progress.last_heartbeat = Some(now);
                            true
                        }
                        Err(e) => {
                            tracing::warn!("{e}");
                            false
                        }
                    }
                }
                Decision::Complete(_) => match self
                    .aws
                    .complete_lifecycle_action(&self.action, LifecycleResult::Continue)
                    .await
                {
                    Ok(()) => {
                        progress.completed = true;
                        true
                    }
                    Err(e) => {
                        tracing::warn!("{e}");
                        progress.complete_failures += 1;
                        false
                    }
                },
                Decision::PowerOff(_) => match self.power.power_off().await {
                    Ok(()) => {
                        progress.powered_off = true;
                        true
                    }
                    Err(e) => {
                        tracing::warn!("power off failed: {e:#}");
                        false
                    }
                },
            };
            if !acted {
                tokio::time::sleep(self.poll).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Decision::*;
    use Finished::*;

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    fn bounds() -> Bounds {
        Bounds {
            max_wait: s(100),
            heartbeat_timeout: s(40),
            spot_window: s(20),
            silent_polls: 3,
            complete_attempts: 3,
        }
    }

    /// A drain on the hook, started at 0, shutdown already requested.
    fn hooked() -> Progress {
        Progress {
            started_at: Some(s(0)),
            hook: true,
            shutdown_requested: true,
            ..Progress::default()
        }
    }

    /// A drain on a spot notice alone, started at 0, shutdown already requested.
    fn spot() -> Progress {
        Progress {
            started_at: Some(s(0)),
            spot_at: Some(s(0)),
            shutdown_requested: true,
            ..Progress::default()
        }
    }

    fn observed(lifecycle: Option<&str>, spot_notice: bool, conferences: Option<u64>) -> Observed {
        Observed {
            lifecycle: lifecycle.map(LifecycleState::parse),
            spot_notice,
            conferences,
        }
    }

    #[test]
    fn the_drain_policy_table() {
        let t = Some("Terminated");
        let rows: Vec<(&str, u64, Observed, Progress, Decision)> = vec![
            (
                "in service: watch",
                5,
                observed(Some("InService"), false, None),
                Progress::default(),
                Watch,
            ),
            (
                "warm pool: watch",
                5,
                observed(Some("Warmed:Stopped"), false, None),
                Progress::default(),
                Watch,
            ),
            (
                "no group at all: watch",
                5,
                observed(None, false, None),
                Progress::default(),
                Watch,
            ),
            (
                "terminating with meetings: ask for graceful shutdown first",
                5,
                observed(t, false, Some(2)),
                Progress::default(),
                RequestShutdown,
            ),
            (
                "terminating with no meeting: still close the door first",
                5,
                observed(t, false, Some(0)),
                Progress::default(),
                RequestShutdown,
            ),
            (
                "meetings remain: wait",
                10,
                observed(t, false, Some(2)),
                hooked(),
                Wait {
                    conferences: Some(2),
                    left: s(90),
                },
            ),
            (
                "half the heartbeat timeout gone, bound beyond it: heartbeat",
                20,
                observed(t, false, Some(2)),
                hooked(),
                Heartbeat,
            ),
            (
                "just heartbeated: wait",
                30,
                observed(t, false, Some(2)),
                Progress {
                    last_heartbeat: Some(s(25)),
                    ..hooked()
                },
                Wait {
                    conferences: Some(2),
                    left: s(70),
                },
            ),
            (
                "the hook outlasts the bound: no heartbeat needed",
                95,
                observed(t, false, Some(2)),
                Progress {
                    last_heartbeat: Some(s(70)),
                    ..hooked()
                },
                Wait {
                    conferences: Some(2),
                    left: s(5),
                },
            ),
            (
                "the last meeting ended: complete",
                40,
                observed(t, false, Some(0)),
                hooked(),
                Complete(NoConference),
            ),
            (
                "completed: power off",
                41,
                observed(t, false, Some(0)),
                Progress {
                    completed: true,
                    ..hooked()
                },
                PowerOff(NoConference),
            ),
            (
                "bound reached with meetings: complete all the same",
                100,
                observed(t, false, Some(3)),
                hooked(),
                Complete(BoundReached(Some(3))),
            ),
            (
                "bound reached, never asked: no late request, complete",
                100,
                observed(t, false, Some(3)),
                Progress {
                    shutdown_requested: false,
                    ..hooked()
                },
                Complete(BoundReached(Some(3))),
            ),
            (
                "one silent poll is not an exit: wait",
                10,
                observed(t, false, None),
                hooked(),
                Wait {
                    conferences: None,
                    left: s(90),
                },
            ),
            (
                "the bridge has exited after its last meeting: complete",
                10,
                observed(t, false, None),
                Progress {
                    silent_polls: 2,
                    ..hooked()
                },
                Complete(BridgeGone),
            ),
            (
                "spot notice alone: ask for graceful shutdown at once",
                0,
                observed(Some("InService"), true, Some(1)),
                Progress::default(),
                RequestShutdown,
            ),
            (
                "spot notice: wait within its window, no heartbeat without a hook",
                15,
                observed(None, true, Some(1)),
                spot(),
                Wait {
                    conferences: Some(1),
                    left: s(5),
                },
            ),
            (
                "spot window over: power off, no lifecycle action to complete",
                20,
                observed(None, true, Some(1)),
                spot(),
                PowerOff(BoundReached(Some(1))),
            ),
            (
                "spot notice during a hook drain shortens the bound",
                70,
                observed(t, true, Some(2)),
                Progress {
                    spot_at: Some(s(50)),
                    last_heartbeat: Some(s(60)),
                    ..hooked()
                },
                Complete(BoundReached(Some(2))),
            ),
            (
                "completing keeps failing: power off all the same",
                50,
                observed(t, false, Some(0)),
                Progress {
                    complete_failures: 3,
                    ..hooked()
                },
                PowerOff(NoConference),
            ),
            (
                "powered off: done",
                60,
                observed(t, false, None),
                Progress {
                    powered_off: true,
                    completed: true,
                    ..hooked()
                },
                Done,
            ),
        ];
        assert!(rows.len() >= 12);
        for (name, now, observed, mut progress, want) in rows {
            progress.note(s(now), &observed);
            assert_eq!(
                decide(s(now), &observed, &progress, &bounds()),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn a_hooks_timeouts_bound_the_drain() {
        let b = Bounds::for_hook(&HookTimeouts {
            heartbeat: s(3600),
            global: s(172_800),
        });
        // The template's hook allows 48 h; the drain stops at two hours all the same.
        assert_eq!((b.heartbeat_timeout, b.max_wait), (s(3600), s(7200)));
        let b = Bounds::for_hook(&HookTimeouts {
            heartbeat: s(60),
            global: s(6000),
        });
        assert_eq!((b.heartbeat_timeout, b.max_wait), (s(60), s(5940)));
        let b = Bounds::for_hook(&HookTimeouts {
            heartbeat: s(30),
            global: s(300),
        });
        assert_eq!((b.heartbeat_timeout, b.max_wait), (s(30), s(270)));
        // Heartbeats come before the heartbeat timeout runs out, and the wait ends before
        // the global timeout.
        let mut p = hooked();
        let mut last = s(0);
        for now in (0..400).map(s) {
            let o = observed(Some("Terminated"), false, Some(1));
            p.note(now, &o);
            match decide(now, &o, &p, &b) {
                Heartbeat => {
                    assert!(
                        now.saturating_sub(last) < s(30),
                        "late heartbeat at {now:?}"
                    );
                    last = now;
                    p.last_heartbeat = Some(now);
                }
                Complete(BoundReached(Some(1))) => {
                    assert!(now < s(300) && now.saturating_sub(last) < s(30), "{now:?}");
                    return;
                }
                Wait { .. } => {}
                other => panic!("{other:?} at {now:?}"),
            }
        }
        panic!("never completed");
    }

    #[test]
    fn noting_starts_the_drain_once_and_counts_silence() {
        let mut p = Progress::default();
        p.note(s(1), &observed(Some("InService"), false, None));
        assert_eq!((p.started_at, p.silent_polls), (None, 0));
        p.note(s(2), &observed(Some("Terminated"), false, None));
        p.note(s(3), &observed(Some("Terminated"), true, None));
        assert_eq!(
            (p.started_at, p.spot_at, p.hook),
            (Some(s(2)), Some(s(3)), true)
        );
        assert_eq!(p.silent_polls, 2);
        p.note(s(4), &observed(Some("Terminated"), true, Some(0)));
        assert_eq!(p.silent_polls, 0);
    }
}
