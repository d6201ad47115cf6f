//! The text renderings: the one-screen report and the login banner's few lines.

use super::report::{CertificateView, Report};
use std::fmt::Write as _;

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
    identity(&mut out, report);
    deployment(&mut out, report);
    if let Some(sip) = &report.sip {
        for line in super::sip::lines(sip) {
            let _ = writeln!(out, "{line}");
        }
    }
    image(&mut out, report);
    certificate(&mut out, report);
    operations(&mut out, report);
    steps(&mut out, report);
    services(&mut out, report);
    // Domains, key comments, errors and answers quoted here came from outside.
    crate::printable::terminal(&out)
}

/// Domain, addresses and the instance.
fn identity(out: &mut String, report: &Report) {
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
}

/// The machine's part in a deployment.
fn deployment(out: &mut String, report: &Report) {
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
            _ => match &d.recorder {
                Some(r) => match (&r.jibri, &r.jibri_error) {
                    (Some(h), _) => format!(
                        "jibri {}, {}",
                        h.busy,
                        if h.healthy { "healthy" } else { "unhealthy" }
                    ),
                    (None, e) => e.clone().unwrap_or_default(),
                },
                None if d.role == crate::vocab::Role::Sip => {
                    "a SIP gateway (jigasi: the sip line below)".into()
                }
                None => String::new(),
            },
        };
        let _ = writeln!(out, "role         {}: {detail}", d.role.as_str());
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
        if let Some(seen) = &d.recorders {
            let _ = writeln!(
                out,
                "recorders    jicofo sees {} recorder(s), {} available",
                seen.count, seen.available
            );
            for r in &seen.list {
                let _ = writeln!(out, "recorder     {}", r.line());
            }
        }
        if let Some(rec) = d.recorder.as_ref().and_then(|r| r.recording.as_ref()) {
            let _ = writeln!(
                out,
                "recording    {} for {} min, {} so far",
                rec.room,
                rec.seconds / 60,
                crate::printable::human_bytes(rec.bytes)
            );
        }
        if let Some(why) = d
            .recorder
            .as_ref()
            .and_then(|r| r.guard.as_ref())
            .and_then(|g| g.refusal())
        {
            let _ = writeln!(out, "disk         {why}");
        }
        if let Some(s) = &d.scaling {
            let _ = writeln!(out, "scaling      {}; {}", s.metric, s.drain);
        }
    }
}

/// What the image was built from.
fn image(out: &mut String, report: &Report) {
    if let Some(image) = &report.image {
        let _ = writeln!(
            out,
            "image        {}{}, built {}{}",
            image.os,
            if image.role == "recorder" {
                " (recorder image)"
            } else {
                ""
            },
            image.built_at,
            if image.missing_packages.is_empty() {
                String::new()
            } else {
                format!(", without {}", image.missing_packages.join(", "))
            }
        );
    }
}

/// The installed certificate.
fn certificate(out: &mut String, report: &Report) {
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
}

/// Shutdown, idle clock and reboot.
fn operations(out: &mut String, report: &Report) {
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
}

/// Each step's last outcome.
fn steps(out: &mut String, report: &Report) {
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
}

/// The stack's units.
fn services(out: &mut String, report: &Report) {
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
}
