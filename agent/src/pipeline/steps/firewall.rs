//! firewall (every boot): renders the host firewall (an nftables ruleset that drops every
//! inbound packet a meeting does not need, see [`crate::firewall`]) from the TURN settings,
//! the videobridge's media port and whether sshd is enabled, and has
//! `meet-agent-firewall.service` (ordered before the stack's services) load it at once,
//! waiting for the load: the step runs second, right after identity, so that at a first
//! boot the rules hold before the run talks to the network, and the load is off the path
//! between READY and the stack's first start (`nft -f` took 1.0 to 1.5 s there under
//! TCG, and nginx, prosody and coturn waited for it). In a container the host's firewall
//! decides what is reachable: nothing is rendered, and the step says which ports the host
//! must let in.

use crate::apply::{self, BroughtUp, Service};
use crate::firewall::{self, Inputs};
use crate::jitsi::videobridge::MEDIA_PORT;
use crate::paths::Paths;
use crate::pipeline::{settings, ApplyHandle, Input, Outcome, Ran, Step, StepName};
use crate::vocab::Role;
use anyhow::Result;
use std::time::Duration;

/// The step's declaration: its name and when it runs.
pub const STEP: Step = Step::every_boot(StepName::Firewall, |ctx, apply| {
    Box::pin(async move { run(ctx, apply).await.map(Ran::from) })
});

/// Unit links that mean sshd starts at boot (Debian's ssh.service, Ubuntu 24.04's socket).
const SSH_ENABLED: [&str; 3] = [
    "/etc/systemd/system/multi-user.target.wants/ssh.service",
    "/etc/systemd/system/multi-user.target.wants/sshd.service",
    "/etc/systemd/system/sockets.target.wants/ssh.socket",
];

/// Runs the firewall step.
async fn run(ctx: &Input<'_>, apply: &mut ApplyHandle) -> Result<Outcome> {
    let settings = settings(ctx)?;
    let fw = &settings.firewall;
    let roles = &settings.roles;
    let acme_tcp: Vec<u16> = settings
        .acme
        .iter()
        .flat_map(|a| [a.http_listen.port(), a.tls_listen.port()])
        .collect();
    let openings = firewall::openings(&Inputs {
        turn: &settings.jitsi.turn,
        media_port: MEDIA_PORT,
        ssh: ssh_enabled(ctx.paths),
        extra_tcp: &fw.allow_tcp,
        extra_udp: &fw.allow_udp,
        acme_tcp: &acme_tcp,
        // A recorder serves nothing: its browser and the XMPP login go out, media come
        // back on those connections (docs/upstream/jibri.md section 2.1).
        web: !roles.role.joins(),
        media: roles.role == Role::Videobridge || roles.local_bridge,
    });
    let xmpp_sources: &[_] = if roles.role == Role::Signaling {
        &roles.bridge_sources
    } else {
        &[]
    };
    let media_sources: &[_] = if settings.sip.runs_here() {
        &settings.sip.media_sources
    } else {
        &[]
    };
    let (first, last) = crate::jitsi::jigasi::MEDIA_PORTS;
    let sourced = [
        firewall::Sourced::xmpp(xmpp_sources),
        firewall::Sourced::sip_media(first, last, media_sources),
    ];
    let open = format!(
        "{}{}",
        firewall::describe(&openings),
        firewall::describe_sourced(&sourced)
    );
    if let Some(kind) = container(ctx.paths) {
        return Ok(Outcome::not_configured(format!(
            "in a container ({kind}) the host's firewall decides what is reachable; it must let in {open}"
        )));
    }
    let path = ctx.paths.join(firewall::PATH);
    // Off, the file still exists and removes our table when loaded: the unit's reload
    // replaces the rules in one transaction in both directions.
    let text = if fw.enabled {
        firewall::render(&openings, &sourced)
    } else {
        firewall::render_off()
    };
    let changed = apply
        .refreshes
        .write(&path, text.as_bytes(), 0o644, None, Service::Firewall)?;
    let loaded = load_now(apply).await;
    let reloaded = match (changed, &loaded) {
        (true, Loaded::Now) => " (ruleset rewritten and loaded)",
        (true, Loaded::Reloaded) => " (ruleset rewritten; meet-agent-firewall reloaded)",
        (true, Loaded::Loading) => " (ruleset rewritten; meet-agent-firewall is loading it)",
        (true, Loaded::Later) => {
            " (ruleset rewritten; loaded when meet-agent-firewall next starts)"
        }
        (_, Loaded::Failed) | (false, _) => "",
    };
    let outcome = if fw.enabled {
        let message = format!("inbound open: {open}; everything else dropped{reloaded}");
        if roles.role == Role::Signaling && xmpp_sources.is_empty() {
            // Not an error: the bridges may not exist yet. But none can join until then.
            Outcome::degraded(format!(
                "no bridges.allow_cidrs, so no videobridge of another machine can reach prosody (tcp {}); {message}",
                firewall::XMPP_PORT
            ))
        } else {
            Outcome::ok(message)
        }
    } else {
        Outcome::not_configured(format!(
            "off (firewall.enabled = false): nothing is filtered here; a meeting needs {open}{reloaded}"
        ))
    };
    Ok(match loaded {
        Loaded::Failed => Outcome::failed(format!(
            "{} ({} failed to load {}: `journalctl -u {}` says why; the rules loaded before, if any, still hold)",
            outcome.message,
            Service::Firewall.unit(),
            firewall::PATH,
            Service::Firewall.unit()
        )),
        _ => outcome,
    })
}

/// How far the ruleset got.
enum Loaded {
    /// systemd started the unit and it is active: the rules hold.
    Now,
    /// systemd ran the unit's reload. A failed reload leaves the unit active with the
    /// rules it had, which its state does not show; not told apart here.
    Reloaded,
    /// The job was queued but its end was not seen (a slow or silent systemd).
    Loading,
    /// Not asked now (no systemd, the unit not installed, or stopped in a run that starts
    /// nothing): the unit loads the file when it next starts.
    Later,
    /// The unit failed: the file did not load.
    Failed,
}

/// How long the firewall's load may take (`nft -f`: under a second even under emulation).
const LOAD_LIMIT: Duration = Duration::from_secs(30);

/// Has systemd load the ruleset now when it changed (or an earlier run's change is still
/// pending): a running unit is reloaded (one transaction), a stopped one started if this
/// run brings the stack up, as its start step would; then waits for the job to end, so
/// that the rules hold before the run's next steps talk to the network (connection
/// tracking starts with the first ruleset: a connection open before it would meet its
/// next incoming packet as new, and `policy drop`). Without systemd (a chroot, an image
/// build) or when asking fails, the change stays pending and the start step, or the end of
/// a run without it, takes it; the failure is logged.
async fn load_now(apply: &mut ApplyHandle) -> Loaded {
    if !apply.refreshes.is_pending(Service::Firewall) && !apply.brings_up {
        return Loaded::Later;
    }
    let Ok(systemd) = apply.bus.systemd().await else {
        return Loaded::Later;
    };
    match apply::bring_up_one(
        &mut apply.refreshes,
        systemd,
        Service::Firewall,
        apply.brings_up,
    )
    .await
    {
        Ok(done @ (BroughtUp::Started | BroughtUp::Refreshed)) => {
            match systemd.settled(Service::Firewall.unit(), LOAD_LIMIT).await {
                Ok(unit) if unit.active_state == "failed" => Loaded::Failed,
                Ok(_) if done == BroughtUp::Refreshed => Loaded::Reloaded,
                Ok(_) => Loaded::Now,
                Err(e) => {
                    tracing::warn!("firewall: {e:#}");
                    Loaded::Loading
                }
            }
        }
        Ok(BroughtUp::Left) => Loaded::Later,
        Err(e) => {
            tracing::warn!("firewall: the ruleset is left for the start step: {e:#}");
            Loaded::Later
        }
    }
}

/// Whether sshd is enabled on this system.
fn ssh_enabled(paths: &Paths) -> bool {
    SSH_ENABLED.iter().any(|p| paths.join(p).exists())
}

/// The container manager's name when this runs in a container (systemd writes it to
/// /run/systemd/container).
fn container(paths: &Paths) -> Option<String> {
    std::fs::read_to_string(paths.join("/run/systemd/container"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}
