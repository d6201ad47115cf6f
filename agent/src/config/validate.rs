//! Value checks that the schema cannot express, producing typed settings.

use super::fragments::Merged;
use super::schema::{Config, ProviderChoice, SecretMaterial};
pub use crate::well_formed::{check_fqdn, check_url};
use anyhow::{anyhow, Result};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// Validated settings: what the steps act on.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The server's domain, lower-case, without a trailing dot.
    pub domain: Option<String>,
    /// Public IPv4 set in config.
    pub public_ipv4: Option<Ipv4Addr>,
    /// Public IPv6 set in config.
    pub public_ipv6: Option<Ipv6Addr>,
    /// Operator contact address.
    pub contact_email: Option<String>,
    /// Chosen instance data provider.
    pub provider: ProviderChoice,
    /// EC2 metadata base URL.
    pub ec2_endpoint: String,
    /// Compute Engine metadata base URL.
    pub gce_endpoint: String,
    /// How long to keep trying a provider.
    pub source_timeout: Duration,
    /// A supplied certificate and key, if configured.
    pub tls_supplied: Option<TlsSupplied>,
    /// ACME, when enabled.
    pub acme: Option<crate::tls::acme::AcmeSettings>,
    /// A "what is my IP" URL, the last resort for the public IPv4.
    pub public_ip_url: Option<String>,
    /// Dynamic DNS and the DNS wait.
    pub dns: crate::dns::DnsSettings,
    /// The Jitsi stack.
    pub jitsi: crate::jitsi::JitsiSettings,
    /// Tuning (range-checked).
    pub tune: super::schema::Tune,
    /// Scheduled and idle shutdown (calendar expressions checked by systemd).
    pub schedule: super::schema::Schedule,
    /// Updates and the maintenance window.
    pub updates: super::schema::Updates,
    /// The host firewall (ports checked non-zero).
    pub firewall: super::schema::Firewall,
    /// SSH public keys that may log in as root, each checked and listed once.
    pub ssh_authorized_keys: crate::access::Keys,
    /// Every configured credential, for removing from text that came from outside (a
    /// provider's or a CA's answer) before it reaches a log line or the state file.
    pub redactor: crate::redact::Redactor,
    /// The machine's role in a deployment, with its bridges' or signaling node's keys.
    pub roles: super::validate_roles::RoleSettings,
    /// Where recordings go.
    pub recording: crate::recording::RecordingSettings,
    /// Phones in meetings: jigasi's account, the dial-in numbers, where jigasi runs.
    pub sip: crate::sip::SipSettings,
    /// The calendar expressions, checked where they are used (`config check` and the
    /// schedule step) rather than at every load: systemd's parser is a process start.
    pub calendars: Vec<Calendar>,
}

/// A systemd calendar expression and where it was set.
#[derive(Debug, Clone)]
pub struct Calendar {
    /// The key (`schedule.shutdown`, `updates.reboot_window`).
    pub key: &'static str,
    /// The file or source that set it.
    pub origin: String,
    /// The expression.
    pub expression: String,
}

/// Checks every calendar expression with systemd's parser; the error names the origin, the
/// key and systemd's reason. The built-in default is not handed to the parser: under
/// emulation the schedule step took 0.14 to 0.47 s with this check, which a first boot with the
/// defaults paid in its schedule step (a test checks the default against systemd's parser).
pub fn check_calendars(calendars: &[Calendar]) -> Result<()> {
    for c in calendars {
        if c.expression == super::schema::DEFAULT_REBOOT_WINDOW {
            continue;
        }
        check_calendar(&c.expression).map_err(|r| anyhow!("{}: key `{}`: {r}", c.origin, c.key))?;
    }
    Ok(())
}

/// A supplied certificate/key pair, still encoded as given.
#[derive(Debug, Clone)]
pub struct TlsSupplied {
    /// Certificate chain: inline or a path.
    pub certificate: String,
    /// Private key: inline or a path.
    pub key: SecretMaterial,
    /// The file or source that set `tls.certificate`, for `config check`'s messages.
    pub origin: String,
}

/// Checks values and builds [`Settings`]; errors name the origin, the key and the reason.
pub fn validate(config: &Config, merged: &Merged) -> Result<Settings> {
    let fail =
        |key: &str, reason: String| anyhow!("{}: key `{key}`: {reason}", merged.origin_of(key));
    let server = server(config, &fail)?;
    let domain = server.domain.clone();
    let dns_fail = |shown: &str, origin_key: &str, reason: String| {
        anyhow!("{}: key `{shown}`: {reason}", merged.origin_of(origin_key))
    };
    let dns = super::validate_dns::validate(&config.dns, domain.as_deref(), &dns_fail)?;
    check_source(config, &fail)?;
    let tls_supplied = tls_supplied(config, merged, &fail)?;
    let acme = if config.tls.acme.enabled {
        Some(acme_settings(config, &fail, &server.contact_email)?)
    } else {
        None
    };
    let jitsi = jitsi_settings(config, domain.as_deref(), &fail)?;
    let roles = super::validate_roles::validate(config, domain.as_deref(), &fail)?;
    let recording = super::validate_recording::validate(&config.recording, &fail)?;
    let sip = super::validate_sip::validate(&config.sip, config.server.role, &fail)?;
    check_tune(&config.tune, &fail)?;
    check_operations(&config.schedule, &config.updates, &fail)?;
    let ssh_authorized_keys = crate::access::check_keys(&config.access.ssh_authorized_keys)
        .map_err(|r| fail("access.ssh_authorized_keys", r))?;
    check_firewall(config, &fail)?;
    Ok(Settings {
        recording,
        sip,
        redactor: redactor(config, &roles),
        roles,
        calendars: calendars(config, merged),
        schedule: config.schedule.clone(),
        updates: config.updates.clone(),
        firewall: config.firewall.clone(),
        ssh_authorized_keys,
        tune: config.tune.clone(),
        acme,
        dns,
        jitsi,
        public_ip_url: config.server.public_ip_url.clone(),
        domain,
        public_ipv4: server.public_ipv4,
        public_ipv6: server.public_ipv6,
        contact_email: server.contact_email,
        provider: config.source.provider,
        ec2_endpoint: config.source.ec2_endpoint.trim_end_matches('/').to_string(),
        gce_endpoint: config.source.gce_endpoint.trim_end_matches('/').to_string(),
        source_timeout: Duration::from_secs(config.source.timeout_seconds),
        tls_supplied,
    })
}

/// `[server]`'s values, checked.
struct ServerKeys {
    domain: Option<String>,
    public_ipv4: Option<Ipv4Addr>,
    public_ipv6: Option<Ipv6Addr>,
    contact_email: Option<String>,
}

/// Checks `[server]`: the domain (lower-cased, without a trailing dot), the addresses, the
/// contact address and the public-IP URL.
fn server(config: &Config, fail: &dyn Fn(&str, String) -> anyhow::Error) -> Result<ServerKeys> {
    let domain = match &config.server.domain {
        Some(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            check_fqdn(&d).map_err(|r| {
                fail(
                    "server.domain",
                    format!("{r}; use a fully qualified name such as meet.example.org"),
                )
            })?;
            Some(d)
        }
        None => None,
    };
    let public_ipv4 =
        parse_ip(&config.server.public_ipv4).map_err(|r| fail("server.public_ipv4", r))?;
    let public_ipv6 =
        parse_ip(&config.server.public_ipv6).map_err(|r| fail("server.public_ipv6", r))?;
    let contact_email = match &config.server.contact_email {
        Some(e) => {
            check_email(e).map_err(|r| fail("server.contact_email", r))?;
            Some(e.clone())
        }
        None => None,
    };
    if let Some(url) = &config.server.public_ip_url {
        check_url(url).map_err(|r| fail("server.public_ip_url", r))?;
    }
    Ok(ServerKeys {
        domain,
        public_ipv4,
        public_ipv6,
        contact_email,
    })
}

/// `[source]`'s endpoints and timeout.
fn check_source(config: &Config, fail: &dyn Fn(&str, String) -> anyhow::Error) -> Result<()> {
    check_url(&config.source.ec2_endpoint).map_err(|r| fail("source.ec2_endpoint", r))?;
    check_url(&config.source.gce_endpoint).map_err(|r| fail("source.gce_endpoint", r))?;
    if let Some(url) = &config.source.aws_endpoint {
        check_url(url).map_err(|r| fail("source.aws_endpoint", r))?;
    }
    if config.source.timeout_seconds == 0 || config.source.timeout_seconds > 3600 {
        return Err(fail(
            "source.timeout_seconds",
            "must be between 1 and 3600".into(),
        ));
    }
    Ok(())
}

/// `tls.certificate` and `tls.key`: both or neither.
fn tls_supplied(
    config: &Config,
    merged: &Merged,
    fail: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<Option<TlsSupplied>> {
    Ok(both_or_neither(
        ("tls.certificate", &config.tls.certificate),
        ("tls.key", &config.tls.key),
        "set both or neither",
        fail,
    )?
    .map(|(certificate, key)| TlsSupplied {
        certificate: certificate.clone(),
        key: key.clone(),
        origin: merged.origin_of("tls.certificate").to_string(),
    }))
}

/// `firewall.allow_tcp` and `allow_udp`: no port 0.
fn check_firewall(config: &Config, fail: &dyn Fn(&str, String) -> anyhow::Error) -> Result<()> {
    for (key, ports) in [
        ("firewall.allow_tcp", &config.firewall.allow_tcp),
        ("firewall.allow_udp", &config.firewall.allow_udp),
    ] {
        if ports.contains(&0) {
            return Err(fail(
                key,
                "port 0 cannot be opened; give ports from 1 to 65535".into(),
            ));
        }
    }
    Ok(())
}

/// The calendar expressions and where each was set (checked where they are used).
fn calendars(config: &Config, merged: &Merged) -> Vec<Calendar> {
    let calendar = |key: &'static str, expression: &String| Calendar {
        key,
        origin: merged.origin_of(key).to_string(),
        expression: expression.clone(),
    };
    let mut calendars: Vec<Calendar> = (config.schedule.shutdown.iter())
        .map(|e| calendar("schedule.shutdown", e))
        .collect();
    if !config.updates.reboot_window.is_empty() {
        calendars.push(calendar(
            "updates.reboot_window",
            &config.updates.reboot_window,
        ));
    }
    calendars
}

/// A redactor that knows every secret in `config`.
fn redactor(
    config: &Config,
    roles: &super::validate_roles::RoleSettings,
) -> crate::redact::Redactor {
    let mut r = crate::redact::Redactor::new();
    if let Some(join) = &config.bridge.join {
        r.add(join.expose(), None);
    }
    if let Some(token) = &roles.join {
        r.add(token.password(), None);
    }
    // An inline key (a path names no secret).
    if let Some(key) = &config.bridge.auth_key {
        if !key.expose().starts_with('/') {
            r.add(key.expose(), None);
        }
    }
    for update in &config.dns.update {
        if let Some(password) = &update.password {
            r.add(password.expose(), update.username.as_deref());
        }
        for secret in [&update.token, &update.key_secret].into_iter().flatten() {
            r.add(secret.expose(), None);
        }
    }
    if let Some(password) = &config.sip.password {
        r.add(password.expose(), config.sip.username.as_deref());
    }
    for secret in [&config.tls.acme.eab_hmac_key, &config.jitsi.jwt_app_secret]
        .into_iter()
        .flatten()
    {
        r.add(secret.expose(), None);
    }
    r
}

fn acme_settings(
    config: &Config,
    fail: &dyn Fn(&str, String) -> anyhow::Error,
    contact_email: &Option<String>,
) -> Result<crate::tls::acme::AcmeSettings> {
    let a = &config.tls.acme;
    let directory = acme_directory(a, fail)?;
    let ca_root = a.ca_root.clone();
    let http_listen = a.http_listen.parse().map_err(|_| {
        fail(
            "tls.acme.http_listen",
            format!(
                "`{}` is not an address:port such as 0.0.0.0:80",
                a.http_listen
            ),
        )
    })?;
    if a.timeout_seconds == 0 || a.timeout_seconds > 3600 {
        return Err(fail(
            "tls.acme.timeout_seconds",
            "must be between 1 and 3600".into(),
        ));
    }
    let tls_listen = a.tls_listen.parse().map_err(|_| {
        fail(
            "tls.acme.tls_listen",
            format!(
                "`{}` is not an address:port such as 0.0.0.0:443",
                a.tls_listen
            ),
        )
    })?;
    let eab = acme_eab(a, fail)?;
    let dry_run_directory = acme_dry_run_directory(a, fail)?;
    Ok(crate::tls::acme::AcmeSettings {
        challenge: a.challenge,
        tls_listen,
        eab,
        dry_run_directory,
        directory,
        ca_root,
        http_listen,
        timeout: Duration::from_secs(a.timeout_seconds),
        contact_email: contact_email.clone(),
    })
}

/// `tls.acme.directory`: a known CA's name or a directory URL.
fn acme_directory(
    a: &super::schema::Acme,
    fail: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<String> {
    Ok(match a.directory.as_str() {
        "letsencrypt" => "https://acme-v02.api.letsencrypt.org/directory".to_string(),
        "letsencrypt-staging" => {
            "https://acme-staging-v02.api.letsencrypt.org/directory".to_string()
        }
        url => {
            check_url(url).map_err(|r| {
                fail(
                    "tls.acme.directory",
                    format!("{r}; use letsencrypt, letsencrypt-staging or a directory URL"),
                )
            })?;
            url.to_string()
        }
    })
}

/// `tls.acme.eab_kid` and `eab_hmac_key` (external account binding): both or neither.
fn acme_eab(
    a: &super::schema::Acme,
    fail: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<Option<crate::tls::acme::Eab>> {
    Ok(
        match both_or_neither(
            ("tls.acme.eab_kid", &a.eab_kid),
            ("tls.acme.eab_hmac_key", &a.eab_hmac_key),
            "the CA gives both",
            fail,
        )? {
            Some((kid, key)) => {
                use base64::Engine;
                let hmac_key = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(key.expose().trim().trim_end_matches('='))
                    .map_err(|_| {
                        fail(
                            "tls.acme.eab_hmac_key",
                            "is not base64url (paste the HMAC key exactly as the CA shows it)"
                                .into(),
                        )
                    })?;
                Some(crate::tls::acme::Eab {
                    kid: kid.clone(),
                    hmac_key,
                })
            }
            None => None,
        },
    )
}

/// Where `tls.acme.staging_dry_run` tries an order first.
fn acme_dry_run_directory(
    a: &super::schema::Acme,
    fail: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<Option<String>> {
    Ok(if a.staging_dry_run {
        match (&a.dry_run_directory, a.directory.as_str()) {
            (Some(url), _) => {
                check_url(url).map_err(|r| fail("tls.acme.dry_run_directory", r))?;
                Some(url.clone())
            }
            (None, "letsencrypt") => {
                Some("https://acme-staging-v02.api.letsencrypt.org/directory".to_string())
            }
            (None, _) => {
                return Err(fail(
                    "tls.acme.staging_dry_run",
                    "needs tls.acme.dry_run_directory unless the directory is letsencrypt".into(),
                ))
            }
        }
    } else {
        None
    })
}

/// `value` within `lo..=hi`, else an error naming the key and the range.
fn in_range(
    key: &str,
    value: u64,
    (lo, hi): (u64, u64),
    fail: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<()> {
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(fail(
            key,
            format!("{value} is out of range: use {lo} to {hi}"),
        ))
    }
}

fn check_tune(t: &super::schema::Tune, fail: &dyn Fn(&str, String) -> anyhow::Error) -> Result<()> {
    // 0 asks the agent to size the heaps from the machine's memory.
    for (key, value, range) in [
        (
            "tune.videobridge_heap_mib",
            t.videobridge_heap_mib,
            (256, 65_536),
        ),
        ("tune.jicofo_heap_mib", t.jicofo_heap_mib, (128, 16_384)),
    ] {
        if value != 0 {
            in_range(key, value.into(), range, fail)
                .map_err(|e| anyhow!("{e} MiB, or 0 to size it from the machine's memory"))?;
        }
    }
    for (key, value, range) in [
        (
            "tune.udp_buffer_bytes",
            t.udp_buffer_bytes,
            (212_992, 1 << 30),
        ),
        (
            "tune.netdev_max_backlog",
            t.netdev_max_backlog,
            (1_000, 10_000_000),
        ),
        ("tune.nofile", t.nofile, (1_024, 1_048_576)),
        ("tune.tasks_max", t.tasks_max, (512, 4_194_304)),
        ("tune.bandwidth_mbit", t.bandwidth_mbit, (0, 1_000_000)),
        (
            "tune.participants_per_cpu",
            t.participants_per_cpu,
            (1, 1_000),
        ),
        ("tune.meeting_size", t.meeting_size, (2, 1_000)),
    ] {
        in_range(key, value.into(), range, fail)?;
    }
    Ok(())
}

fn check_operations(
    s: &super::schema::Schedule,
    u: &super::schema::Updates,
    fail: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<()> {
    for (key, value, range) in [
        (
            "schedule.idle_shutdown_minutes",
            s.idle_shutdown_minutes,
            (0, 10_080),
        ),
        ("schedule.postpone_minutes", s.postpone_minutes, (1, 240)),
        (
            "schedule.postpone_limit_minutes",
            s.postpone_limit_minutes,
            (0, 1_440),
        ),
        (
            "updates.reboot_window_minutes",
            u.reboot_window_minutes,
            (10, 1_440),
        ),
    ] {
        in_range(key, value.into(), range, fail)?;
    }
    in_range(
        "updates.first_boot_timeout_seconds",
        u.first_boot_timeout_seconds,
        (30, 3_600),
        fail,
    )?;
    // Bounded so that a count of minutes times it cannot overflow a Duration.
    in_range(
        "schedule.minute_seconds",
        s.minute_seconds,
        (1, 3_600),
        fail,
    )?;
    for (key, url) in [
        ("schedule.videobridge_stats_url", &s.videobridge_stats_url),
        ("schedule.jicofo_stats_url", &s.jicofo_stats_url),
    ] {
        check_url(url).map_err(|r| fail(key, r))?;
    }
    Ok(())
}

/// A systemd calendar expression, checked by systemd's own parser (`systemd-analyze
/// calendar`); where that tool is missing the timer unit reports a bad one when loaded.
fn check_calendar(expression: &str) -> Result<(), String> {
    let out = match std::process::Command::new("systemd-analyze")
        .args(["calendar", "--iterations=1", "--", expression])
        .stdin(std::process::Stdio::null())
        .output()
    {
        Ok(out) => out,
        Err(_) => return Ok(()),
    };
    if out.status.success() {
        return Ok(());
    }
    let why = String::from_utf8_lossy(&out.stderr);
    let why = why.lines().next().unwrap_or("").trim();
    Err(format!(
        "`{expression}` is not a systemd calendar expression ({why}); write it like \"Mon..Fri 20:00\" (see `man systemd.time`)"
    ))
}

/// The web app's quality settings, codec names upper-cased.
fn quality(
    q: &super::schema::Quality,
    fail: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<super::schema::Quality> {
    if let Some(bitrate) = q.opus_max_average_bitrate {
        // The range Opus and jitsi-meet accept.
        in_range(
            "jitsi.quality.opus_max_average_bitrate",
            bitrate.into(),
            (6_000, 510_000),
            fail,
        )
        .map_err(|e| anyhow!("{e} bit/s"))?;
    }
    in_range(
        "jitsi.quality.max_resolution",
        q.max_resolution.into(),
        (180, 1080),
        fail,
    )
    .map_err(|e| anyhow!("{e} (the video height, such as 360, 720 or 1080)"))?;
    let key = "jitsi.quality.codec_preference";
    if q.codec_preference.is_empty() {
        return Err(fail(
            key,
            "is empty; list one or more of VP8, VP9, H264, AV1".into(),
        ));
    }
    let mut codecs: Vec<String> = Vec::new();
    for c in &q.codec_preference {
        let upper = c.to_ascii_uppercase();
        if !["VP8", "VP9", "H264", "AV1"].contains(&upper.as_str()) {
            return Err(fail(
                key,
                format!("`{c}` is not a codec the web app knows; use VP8, VP9, H264 or AV1"),
            ));
        }
        if codecs.contains(&upper) {
            return Err(fail(key, format!("names {upper} twice")));
        }
        codecs.push(upper);
    }
    Ok(super::schema::Quality {
        codec_preference: codecs,
        ..q.clone()
    })
}

fn jitsi_settings(
    config: &Config,
    domain: Option<&str>,
    fail: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<crate::jitsi::JitsiSettings> {
    let t = &config.jitsi.turn;
    check_turn_ports(t, fail)?;
    let listen = t
        .listen
        .iter()
        .map(|a| {
            a.parse()
                .map_err(|_| fail("jitsi.turn.listen", format!("`{a}` is not an IP address")))
        })
        .collect::<Result<Vec<_>>>()?;
    let j = &config.jitsi;
    if j.auth == super::schema::AuthMode::Jwt && j.jwt_app_id.is_none() {
        return Err(fail(
            "jitsi.auth",
            "is \"jwt\" but jitsi.jwt_app_id is not set; set the application id your tokens carry"
                .into(),
        ));
    }
    let tls_host = turn_tls_host(t, domain, fail)?;
    Ok(crate::jitsi::JitsiSettings {
        lobby: j.lobby,
        prejoin: j.prejoin,
        e2ee: j.e2ee,
        quality: quality(&j.quality, fail)?,
        auth: j.auth,
        jwt_app_id: j.jwt_app_id.clone(),
        jwt_app_secret: j.jwt_app_secret.clone(),
        turn: crate::jitsi::coturn::TurnSettings {
            port: t.port,
            tls_port: t.tls_port,
            listen,
            relay_ports: (t.relay_min_port, t.relay_max_port),
            tls_host,
        },
    })
}

/// `[jitsi.turn]`'s ports: non-zero, two of them, and a relay range above 1023.
fn check_turn_ports(
    t: &super::schema::Turn,
    fail: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<()> {
    for (key, port) in [
        ("jitsi.turn.port", t.port),
        ("jitsi.turn.tls_port", t.tls_port),
    ] {
        if port == 0 {
            return Err(fail(key, "must be a port between 1 and 65535".into()));
        }
    }
    if t.port == t.tls_port {
        return Err(fail(
            "jitsi.turn.tls_port",
            format!(
                "is the same as jitsi.turn.port ({}); TURN and TURN over TLS need two ports",
                t.port
            ),
        ));
    }
    // With TURN on 443, nginx's stream server takes 443 and hands connections on over
    // loopback ports of its own (vocab::ports); coturn cannot listen on those too.
    if t.tls_host.is_some() {
        for (key, port) in [
            ("jitsi.turn.port", t.port),
            ("jitsi.turn.tls_port", t.tls_port),
        ] {
            if crate::vocab::ports::STREAM_PORTS.contains(&port) {
                return Err(fail(
                    key,
                    format!(
                        "is {port}, which nginx takes when jitsi.turn.tls_host is set (ports {:?}); pick another port",
                        crate::vocab::ports::STREAM_PORTS
                    ),
                ));
            }
        }
    }
    if t.relay_min_port < 1024 || t.relay_min_port >= t.relay_max_port {
        return Err(fail(
            "jitsi.turn.relay_min_port",
            format!(
                "{}..{} is not a port range above 1023 (relay_min_port below relay_max_port)",
                t.relay_min_port, t.relay_max_port
            ),
        ));
    }
    Ok(())
}

/// `jitsi.turn.tls_host`: a second name of the domain, for TURN on port 443.
fn turn_tls_host(
    t: &super::schema::Turn,
    domain: Option<&str>,
    fail: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<Option<String>> {
    Ok(match (&t.tls_host, domain) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(fail(
                "jitsi.turn.tls_host",
                "needs server.domain: TURN on port 443 is told apart from the web site by name"
                    .into(),
            ))
        }
        (Some(h), Some(domain)) => {
            let h = h.trim_end_matches('.').to_ascii_lowercase();
            check_fqdn(&h).map_err(|r| {
                fail(
                    "jitsi.turn.tls_host",
                    format!("{r}; use a second name such as turn.{domain}"),
                )
            })?;
            if h == domain {
                return Err(fail(
                    "jitsi.turn.tls_host",
                    format!("is server.domain itself; use a second name such as turn.{domain}"),
                ));
            }
            Some(h)
        }
    })
}

/// Two keys that only make sense together: both values, nothing, or an error naming the
/// one that is missing.
fn both_or_neither<'v, A, B>(
    (a_key, a): (&str, &'v Option<A>),
    (b_key, b): (&str, &'v Option<B>),
    advice: &str,
    fail: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<Option<(&'v A, &'v B)>> {
    match (a, b) {
        (Some(a), Some(b)) => Ok(Some((a, b))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(fail(
            a_key,
            format!("is set but `{b_key}` is not; {advice}"),
        )),
        (None, Some(_)) => Err(fail(
            b_key,
            format!("is set but `{a_key}` is not; {advice}"),
        )),
    }
}

fn parse_ip<T: std::str::FromStr>(value: &Option<String>) -> Result<Option<T>, String> {
    match value {
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| format!("`{v}` is not an IP address of this family")),
        None => Ok(None),
    }
}

fn check_email(email: &str) -> Result<(), String> {
    let malformed = || format!("`{email}` is not an email address (expected name@domain.example)");
    let (local, domain) = email.split_once('@').ok_or_else(malformed)?;
    if local.is_empty() || local.chars().any(|c| c.is_whitespace() || c == '@') {
        return Err(malformed());
    }
    check_fqdn(domain).map_err(|_| malformed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_reboot_window_is_one_systemd_accepts_and_others_still_go_to_its_parser() {
        // check_calendars passes the default by without asking; this is what lets it.
        let out = std::process::Command::new("systemd-analyze")
            .args(["calendar", "--iterations=1", "--"])
            .arg(super::super::schema::DEFAULT_REBOOT_WINDOW)
            .output()
            .expect("systemd-analyze runs here (the systemd package)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let calendar = |expression: &str| Calendar {
            key: "updates.reboot_window",
            origin: "test".into(),
            expression: expression.into(),
        };
        assert!(check_calendars(&[calendar("Sun 03:00")]).is_ok());
        let e = check_calendars(&[calendar("Sun 25:00")]).unwrap_err();
        assert!(
            format!("{e}").contains("is not a systemd calendar expression"),
            "{e}"
        );
    }

    #[test]
    fn fqdn_rules() {
        assert!(check_fqdn("meet.example.org").is_ok());
        assert!(check_fqdn("a-b.c0.example").is_ok());
        assert!(check_fqdn("localhost").is_err());
        assert!(check_fqdn("-bad.example.org").is_err());
        assert!(check_fqdn("bad_.example.org").is_err());
        assert!(check_fqdn("a..b").is_err());
        assert!(check_fqdn("10.0.0.1").is_err());
        assert!(check_fqdn(&format!("{}.org", "a".repeat(64))).is_err());
    }

    #[test]
    fn email_and_url_rules() {
        assert!(check_email("ops@example.org").is_ok());
        assert!(check_email("ops example.org").is_err());
        assert!(check_email("ops@localhost").is_err());
        assert!(check_url("http://169.254.169.254").is_ok());
        assert!(check_url("https://x.example/p").is_ok());
        assert!(check_url("ftp://x.example").is_err());
        assert!(check_url("not a url").is_err());
    }
}
