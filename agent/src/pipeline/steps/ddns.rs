//! ddns (every boot, or as `dns.update_on` says): publish this server's address to the
//! configured dynamic DNS providers, each with retries until its deadline.

use crate::pipeline::{
    settings, ApplyHandle, Effect, Input, Later, Outcome, Ran, Step, StepFuture, StepName, When,
};
use crate::state::{StepRecord, StepState};
use anyhow::Result;

/// The step's declaration: its name and when it runs.
pub const STEP: Step = Step::every_boot(StepName::Ddns, |ctx, apply| Box::pin(run(ctx, apply)));

/// Runs the ddns step: the boot-time updates, and with `dns.update_on = after-start` the
/// updates once the stack has started, left to the runner ([`AfterStart`]).
async fn run(ctx: &Input<'_>, _: &mut ApplyHandle) -> Result<Ran> {
    let ran = Ran::from(send(ctx, Phase::Boot).await?);
    let dns = &settings(ctx)?.dns;
    Ok(if dns.after_start && !dns.updates.is_empty() {
        ran.with(Effect::Later(When::AfterAllSteps, Box::new(AfterStart)))
    } else {
        ran
    })
}

/// The CloudFormation template's "post-installation" call: providers that want it hear
/// from us again once the stack runs.
struct AfterStart;

impl Later for AfterStart {
    fn run<'r>(
        &'r self,
        ctx: &'r Input<'_>,
        _: &'r mut ApplyHandle,
    ) -> StepFuture<'r, Option<Outcome>> {
        Box::pin(async move {
            let sent = send(ctx, Phase::AfterStart).await;
            Some(sent.unwrap_or_else(|e| Outcome::failed(format!("{e:#}"))))
        })
    }

    // Both outcomes stay in the ddns record, the worse one its state, so that status,
    // READY's summary and the exit code tell the same story.
    fn merge(&self, earlier: Option<&StepRecord>, later: StepRecord) -> StepRecord {
        with_after_start(earlier, later)
    }
}

/// When the updates are being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the certificate step.
    Boot,
    /// After the stack has started.
    AfterStart,
}

/// Sends the updates due in `phase`.
async fn send(ctx: &Input<'_>, phase: Phase) -> Result<Outcome> {
    let settings = settings(ctx)?;
    let dns = &settings.dns;
    if dns.updates.is_empty() {
        return Ok(Outcome::not_configured(
            "no [[dns.update]] provider is configured",
        ));
    }
    let wanted = match phase {
        Phase::Boot => dns.on_boot || (dns.on_first_boot && ctx.first_boot),
        Phase::AfterStart => dns.after_start,
    };
    if !wanted {
        return Ok(Outcome::not_configured(
            "not on this boot (dns.update_on does not include it)",
        ));
    }
    let Some(target) = ctx.dns_target() else {
        return Ok(Outcome::failed(
            "no public address is known to publish; set server.public_ipv4 or server.public_ip_url",
        ));
    };
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for update in &dns.updates {
        match update.send(&target, dns.update_timeout).await {
            Ok(answer) => done.push(format!("{} answered `{answer}`", update.label())),
            Err(e) => failed.push(e),
        }
    }
    let prefix = match phase {
        Phase::Boot => String::new(),
        Phase::AfterStart => "after start: ".into(),
    };
    let addresses = [
        target.ipv4.map(|a| a.to_string()),
        target.ipv6.map(|a| a.to_string()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let head = format!("{prefix}{} -> {addresses}", target.domain);
    Ok(if failed.is_empty() {
        Outcome::ok(format!("{head}: {}", done.join("; ")))
    } else {
        let mut all = failed;
        all.extend(done);
        Outcome::failed(format!("{head}: {}", all.join("; ")))
    })
}

/// The ddns record once the after-start updates ran: the after-start outcome first, then
/// the boot-phase one (`at boot: ...`), with the worse state of the two, so that a failed
/// boot-phase update stays visible in status and in READY's summary after a later success.
/// A boot phase that did not run ("not on this boot") adds nothing.
fn with_after_start(boot: Option<&StepRecord>, after: StepRecord) -> StepRecord {
    let Some(boot) = boot.filter(|b| !matches!(b.state, StepState::NotConfigured)) else {
        return after;
    };
    let state = if severity(boot.state) > severity(after.state) {
        boot.state
    } else {
        after.state
    };
    let message = format!("{}; at boot: {}", after.message, boot.message);
    StepRecord {
        last_error: matches!(state, StepState::Failed | StepState::Degraded)
            .then(|| message.clone()),
        state,
        message,
        started_at: boot.started_at.clone(),
        duration_ms: boot.duration_ms.saturating_add(after.duration_ms),
        instance_id: after.instance_id,
    }
}

/// How bad a state is, for keeping the worse of two.
fn severity(state: StepState) -> u8 {
    match state {
        StepState::NotConfigured | StepState::Pending => 0,
        StepState::Ok => 1,
        StepState::Running => 2,
        StepState::Degraded => 3,
        StepState::Failed => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(state: StepState, message: &str) -> StepRecord {
        StepRecord {
            state,
            message: message.into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            duration_ms: 5,
            last_error: None,
            instance_id: Some("i-1".into()),
        }
    }

    #[test]
    fn the_ddns_record_keeps_both_phases_and_the_worse_state() {
        let cases = [
            (StepState::Failed, StepState::Ok, StepState::Failed),
            (StepState::Ok, StepState::Failed, StepState::Failed),
            (StepState::Ok, StepState::Ok, StepState::Ok),
            (StepState::Degraded, StepState::Ok, StepState::Degraded),
        ];
        for (boot, after, expected) in cases {
            let merged = with_after_start(
                Some(&record(boot, "d -> 1.2.3.4: boot answer")),
                record(after, "after start: d -> 1.2.3.4: later answer"),
            );
            assert_eq!(merged.state, expected, "{boot:?} then {after:?}");
            assert_eq!(
                merged.message,
                "after start: d -> 1.2.3.4: later answer; at boot: d -> 1.2.3.4: boot answer"
            );
            assert_eq!(merged.duration_ms, 10);
            assert_eq!(
                merged.last_error.is_some(),
                expected != StepState::Ok,
                "{boot:?} then {after:?}"
            );
        }
        // Not on this boot: only the after-start outcome.
        let after = record(StepState::Ok, "after start: d");
        let merged = with_after_start(
            Some(&record(StepState::NotConfigured, "not on this boot")),
            after.clone(),
        );
        assert_eq!(merged, after);
        assert_eq!(with_after_start(None, after.clone()), after);
    }
}
