//! updates: at every boot, apt's configuration for daily unattended security upgrades
//! (with the Jitsi packages included or held, `updates.include_jitsi`; reboots left to
//! the maintenance window); at an instance's first boot, `apt-get update` and the security
//! upgrades (unattended-upgrade) before the stack starts, bounded by
//! `updates.first_boot_timeout_seconds`. A mirror that cannot be reached is reported and
//! does not hold up the server.

use crate::fsutil::{read_optional, write_atomic};
use crate::pipeline::{settings, Input, Outcome, Ran, Step, StepName};
use crate::state::{now_rfc3339, rfc3339};
use anyhow::Result;
use std::time::{Duration, Instant};

/// The step's declaration: its name and when it runs.
pub const STEP: Step = Step::every_boot(StepName::Updates, |ctx, _| {
    Box::pin(async move { run(ctx).await.map(Ran::from) })
});

/// apt's configuration for the daily run.
pub const APT_CONF: &str = "/etc/apt/apt.conf.d/60ryo-jitsi-upgrades";
/// The first boot's result, for status at later boots.
const FIRST_BOOT_RESULT: &str = "/var/lib/meet-agent/first-boot-updates";
/// apt's stamp of the last daily unattended-upgrade run (apt.systemd.daily).
const DAILY_STAMP: &str = "/var/lib/apt/periodic/unattended-upgrades-stamp";
/// The file Debian's and Ubuntu's packages create when a reboot is needed.
pub const REBOOT_REQUIRED: &str = "/run/reboot-required";
/// The Jitsi packages `include_jitsi = false` holds back.
const JITSI_PACKAGES: [&str; 10] = [
    "jicofo",
    "jitsi-videobridge2",
    "jitsi-meet",
    "jitsi-meet-web",
    "jitsi-meet-web-config",
    "jitsi-meet-prosody",
    "jitsi-meet-turnserver",
    "jitsi-meet-tokens",
    "jibri",
    "jigasi",
];

/// Renders apt's configuration.
pub fn render_apt_conf(daily: bool, include_jitsi: bool) -> String {
    let on = if daily { "1" } else { "0" };
    let mut out = format!(
        "// Managed by meet-agent ([updates]).\n\
         APT::Periodic::Update-Package-Lists \"{on}\";\n\
         APT::Periodic::Unattended-Upgrade \"{on}\";\n\
         // meet-agent reboots in the maintenance window, and only when no conference runs.\n\
         Unattended-Upgrade::Automatic-Reboot \"false\";\n"
    );
    if include_jitsi {
        out.push_str("Unattended-Upgrade::Origins-Pattern { \"site=download.jitsi.org\"; };\n");
    } else {
        out.push_str("Unattended-Upgrade::Package-Blacklist {");
        for p in JITSI_PACKAGES {
            out.push_str(&format!(" \"{p}\";"));
        }
        out.push_str(" };\n");
    }
    out
}

/// Runs the updates step.
async fn run(ctx: &Input<'_>) -> Result<Outcome> {
    let settings = settings(ctx)?;
    let u = &settings.updates;
    write_atomic(
        &ctx.paths.join(APT_CONF),
        render_apt_conf(u.daily, u.include_jitsi).as_bytes(),
        0o644,
    )?;
    let daily = if u.daily {
        format!(
            "daily unattended security upgrades on (Jitsi packages {})",
            if u.include_jitsi { "included" } else { "held" }
        )
    } else {
        "daily unattended upgrades off (updates.daily = false)".to_string()
    };
    if !u.first_boot {
        return Ok(Outcome::ok(later_boot(
            ctx,
            &format!("{daily}; first-boot upgrades off (updates.first_boot = false)"),
        )));
    }
    if !ctx.first_boot {
        let first = match read_optional(&ctx.paths.join(FIRST_BOOT_RESULT))? {
            Some(bytes) => format!("first boot: {}", String::from_utf8_lossy(&bytes).trim()),
            None => "no first-boot result recorded".to_string(),
        };
        return Ok(Outcome::ok(later_boot(ctx, &format!("{daily}; {first}"))));
    }
    let outcome = first_boot(ctx, u, &daily).await;
    // Kept for later boots, whose own record would otherwise replace it in status.
    let line = format!(
        "{} at {}: {}",
        outcome.state.as_str(),
        now_rfc3339(),
        outcome.message
    );
    write_atomic(&ctx.paths.join(FIRST_BOOT_RESULT), line.as_bytes(), 0o644)?;
    Ok(outcome)
}

/// A later boot's message: `head`, the last daily unattended-upgrade run (apt's own stamp)
/// and a pending reboot.
fn later_boot(ctx: &Input<'_>, head: &str) -> String {
    let stamp = std::fs::metadata(ctx.paths.join(DAILY_STAMP)).and_then(|m| m.modified());
    let mut message = match stamp {
        Ok(at) => format!("{head}; last daily run {}", rfc3339(at.into())),
        Err(_) => format!("{head}; no daily run yet"),
    };
    if ctx.paths.join(REBOOT_REQUIRED).exists() {
        message.push_str(
            "; a reboot is pending (done in the maintenance window when no conference runs)",
        );
    }
    message
}

/// The first boot's apt run, bounded by `first_boot_timeout_seconds`.
async fn first_boot(ctx: &Input<'_>, u: &crate::config::schema::Updates, daily: &str) -> Outcome {
    let deadline = Instant::now() + Duration::from_secs(u.first_boot_timeout_seconds);
    let apt = Apt {
        root: ctx.paths.join("/"),
    };
    if let Err(why) = apt.update(deadline).await {
        return Outcome::degraded(format!(
            "security updates not applied: {why}; the server runs without them and the daily run tries again; {daily}"
        ));
    }
    let upgraded = if apt.is_real_root() {
        match apt.upgrade(deadline).await {
            Ok(()) => "security upgrades applied (unattended-upgrade)".to_string(),
            Err(why) => {
                return Outcome::degraded(format!(
                    "package lists updated but the security upgrades failed: {why}; {daily}"
                ))
            }
        }
    } else {
        "package lists updated (unattended-upgrade runs only on the real root)".to_string()
    };
    let pending = apt.pending_security(deadline).await;
    let mut message = format!("{upgraded}; {pending}; {daily}");
    if ctx.paths.join(REBOOT_REQUIRED).exists() {
        message.push_str(
            "; a reboot is pending (done in the maintenance window when no conference runs)",
        );
    }
    Outcome::ok(message)
}

/// apt below a root: the real one, or a fixture tree (`-o Dir=`).
struct Apt {
    root: std::path::PathBuf,
}

impl Apt {
    fn is_real_root(&self) -> bool {
        self.root == std::path::Path::new("/")
    }

    fn command(&self, program: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(program);
        cmd.env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        if !self.is_real_root() {
            cmd.arg("-o").arg(format!("Dir={}", self.root.display()));
            cmd.arg("-o").arg(format!(
                "Dir::State::status={}",
                self.root.join("var/lib/dpkg/status").display()
            ));
        }
        cmd
    }

    /// Runs `cmd` until `deadline`; Err says what went wrong in one line.
    async fn output(
        mut cmd: tokio::process::Command,
        what: &str,
        deadline: Instant,
    ) -> Result<String, String> {
        let left = deadline.saturating_duration_since(Instant::now());
        let out = tokio::time::timeout(left, cmd.output())
            .await
            .map_err(|_| {
                format!("{what} did not finish within updates.first_boot_timeout_seconds")
            })?
            .map_err(|e| format!("{what} could not run ({e})"))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            Ok(text)
        } else {
            // apt's first `E:` line names the mirror and the cause ("Temporary failure
            // resolving ..."); `Err:` lines name only the file.
            let first = ["E:", "W:", "Err:"]
                .iter()
                .find_map(|tag| text.lines().find(|l| l.starts_with(tag)))
                .unwrap_or("no message")
                .trim()
                .to_string();
            Err(format!("{what} failed ({}): {first}", out.status))
        }
    }

    async fn update(&self, deadline: Instant) -> Result<(), String> {
        let mut cmd = self.command("apt-get");
        // Without --error-on=any apt-get exits 0 when every mirror failed.
        cmd.args([
            "-q",
            "update",
            "--error-on=any",
            "-o",
            "Acquire::Retries=1",
            "-o",
            "Acquire::http::Timeout=20",
        ]);
        Self::output(
            cmd,
            "apt-get update (the package mirror is unreachable?)",
            deadline,
        )
        .await
        .map(|_| ())
    }

    /// unattended-upgrade is never killed mid-install: at the deadline it gets SIGTERM, on
    /// which it stops after the package it is installing, and finishes in the background.
    async fn upgrade(&self, deadline: Instant) -> Result<(), String> {
        let mut cmd = self.command("unattended-upgrade");
        cmd.kill_on_drop(false)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let child = cmd
            .spawn()
            .map_err(|e| format!("unattended-upgrade could not run ({e})"))?;
        let pid = child.id();
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, child.wait_with_output()).await {
            Ok(Ok(out)) if out.status.success() => Ok(()),
            Ok(Ok(out)) => Err(format!(
                "unattended-upgrade failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or("no message")
                    .trim()
            )),
            Ok(Err(e)) => Err(format!("unattended-upgrade could not run ({e})")),
            Err(_) => {
                if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGTERM,
                    );
                }
                Err("unattended-upgrade did not finish within updates.first_boot_timeout_seconds; asked to stop after the package it is installing (the daily run continues)".into())
            }
        }
    }

    /// "N security updates pending", from a simulated upgrade.
    async fn pending_security(&self, deadline: Instant) -> String {
        let mut cmd = self.command("apt-get");
        cmd.args(["-s", "-o", "Debug::NoLocking=1", "dist-upgrade"]);
        match Self::output(cmd, "apt-get -s dist-upgrade", deadline).await {
            Ok(text) => {
                let pending = text
                    .lines()
                    .filter(|l| {
                        l.starts_with("Inst ") && l.to_ascii_lowercase().contains("security")
                    })
                    .count();
                format!("{pending} security updates pending")
            }
            Err(why) => format!("pending updates unknown: {why}"),
        }
    }
}
