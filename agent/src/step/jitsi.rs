//! jitsi (every boot): renders the stack's configuration files the agent owns from its
//! config, the identity and the per-instance secrets (coturn, prosody, jicofo, the
//! videobridge, the web app's config.js, the nginx site), and gives prosody the internal
//! accounts (jicofo's `focus`, the bridge's `jvb`) those secrets' passwords. Files change
//! only when their content does; each has a local file for the operator's additions. The
//! services whose files changed are reloaded or restarted by the start step.

use super::{settings, Context, Outcome};
use crate::apply::Service;
use crate::fsutil::{read_optional, write_atomic};
use crate::jitsi::secrets::Secrets;
use crate::jitsi::{coturn, jicofo, nginx, prosody, prosody_accounts, videobridge, web};
use crate::jitsi::{AuthMode, JitsiSettings};
use crate::paths::{TLS_FULLCHAIN, TLS_PRIVKEY};
use anyhow::Result;

/// What one run rendered and found.
struct Renders<'c, 'a> {
    ctx: &'c mut Context<'a>,
    done: Vec<String>,
    problems: Vec<String>,
}

impl Renders<'_, '_> {
    /// Writes `text` to `path` (0640 for `group` when given, else 0644), with `service`
    /// recorded as pending a refresh before the content changes.
    fn put(&mut self, path: &str, text: &str, group: Option<&str>, service: Service) -> Result<()> {
        let full = self.ctx.paths.join(path);
        // Files for a group hold secrets: root and the service's group only.
        let mode = if group.is_some() { 0o640 } else { 0o644 };
        let changed = self
            .ctx
            .refreshes
            .write(&full, text.as_bytes(), mode, group, service)?;
        if changed {
            self.done.push(format!("{path} rendered"));
        }
        Ok(())
    }

    /// The operator's additions file, if there is one.
    fn local(&self, path: &str) -> Result<Option<String>> {
        Ok(read_optional(&self.ctx.paths.join(path))?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }
}

/// Runs the jitsi step.
pub fn run(ctx: &mut Context<'_>) -> Result<Outcome> {
    let settings = settings(ctx)?;
    let Some(secrets) = Secrets::load(ctx.paths)? else {
        return Ok(Outcome::failed(
            "no per-instance secrets yet; run `meet-agent run --step secrets`, then `--step jitsi`",
        ));
    };
    let j = &settings.jitsi;
    let mut r = Renders {
        ctx,
        done: Vec::new(),
        problems: Vec::new(),
    };

    let local = r.local(coturn::LOCAL)?;
    let text = coturn::render(
        &j.turn,
        &r.ctx.identity,
        &secrets,
        (TLS_FULLCHAIN, TLS_PRIVKEY),
        local.as_deref(),
    );
    r.put(coturn::PATH, &text, Some("turnserver"), Service::Coturn)?;

    let domain = r.ctx.identity.domain.clone();
    // Package-generated files that collide with ours (a package upgrade makes them again).
    let (paths, refreshes) = (r.ctx.paths, &mut r.ctx.refreshes);
    let disabled = crate::jitsi::leftovers::disable_with(paths, domain.as_deref(), |service| {
        refreshes.expect(&[service])
    });
    match disabled {
        Ok(moved) => r.done.extend(moved.into_iter().map(|m| m.message)),
        Err(e) => r.problems.push(format!("{e:#}")),
    }
    match &domain {
        None => r.problems.push(
            "prosody, jicofo, the videobridge and the web app are not configured: they need server.domain".into(),
        ),
        Some(domain) => components(&mut r, domain, j, &secrets)?,
    }
    site(&mut r, domain.as_deref(), j)?;

    let mut message = if r.done.is_empty() {
        "every file already up to date".to_string()
    } else {
        r.done.join("; ")
    };
    let identity = &r.ctx.identity;
    match videobridge::mapping(identity.local_ipv4, identity.public_ipv4) {
        Some((local, public)) => message.push_str(&format!("; videobridge maps {local} to {public}")),
        // Right on a LAN; on the internet the operator needs to know.
        None if identity.public_ipv4.is_none() => message.push_str(
            "; no public IPv4 known, so the videobridge offers only its own addresses (set server.public_ipv4 if clients come from the internet)",
        ),
        None => {}
    }
    Ok(if r.problems.is_empty() {
        Outcome::ok(message)
    } else {
        Outcome::degraded(format!("{}; {message}", r.problems.join("; ")))
    })
}

/// prosody (and its internal accounts), jicofo, the videobridge and config.js.
fn components(
    r: &mut Renders<'_, '_>,
    domain: &str,
    j: &JitsiSettings,
    secrets: &Secrets,
) -> Result<()> {
    let plugins = r.ctx.paths.join(prosody::JITSI_PLUGINS).is_dir();
    let jwt_secret = j
        .jwt_app_secret
        .as_ref()
        .map_or(secrets.jwt_app_secret.as_str(), |s| s.expose());
    let text = prosody::render(&prosody::Inputs {
        domain,
        auth: j.auth,
        jwt: j.jwt_app_id.as_deref().map(|id| (id, jwt_secret)),
        secrets,
        turn: &j.turn,
        tls: (TLS_FULLCHAIN, TLS_PRIVKEY),
        jitsi_plugins: plugins,
        lobby: j.lobby,
    });
    r.put(prosody::PATH, &text, Some("prosody"), Service::Prosody)?;
    if j.auth == AuthMode::Jwt && !plugins {
        r.problems.push(
            "JWT authentication needs Jitsi's prosody plugins (jitsi-meet-prosody), which this image lacks".into(),
        );
    }
    match accounts(r.ctx, domain, secrets) {
        Ok(Some(message)) => r.done.push(message),
        Ok(None) => {}
        Err(e) => r.problems.push(format!("{e:#}")),
    }

    let text = jicofo::render(&jicofo::Inputs {
        domain,
        auth: j.auth,
        secrets,
        jitsi_plugins: plugins,
    });
    r.put(jicofo::CONF, &text, Some("jitsi"), Service::Jicofo)?;

    let inputs = videobridge::Inputs {
        domain,
        secrets,
        public_ipv4: r.ctx.identity.public_ipv4,
        local_ipv4: r.ctx.identity.local_ipv4,
    };
    r.put(
        videobridge::CONF,
        &videobridge::render_conf(&inputs),
        Some("jitsi"),
        Service::Videobridge,
    )?;
    r.put(
        videobridge::ENV,
        &videobridge::render_env(),
        None,
        Service::Videobridge,
    )?;

    let local = r.local(web::LOCAL)?;
    let text = web::render(domain, j, local.as_deref());
    r.put(&web::path(domain), &text, None, Service::Nginx)
}

/// The nginx site, and the stream server sharing 443 with coturn when configured.
fn site(r: &mut Renders<'_, '_>, domain: Option<&str>, j: &JitsiSettings) -> Result<()> {
    let mut turn_on_443 = None;
    if let Some(host) = &j.turn.tls_host {
        if r.ctx.paths.join(nginx::STREAM_MODULE).exists() {
            turn_on_443 = Some((host.as_str(), j.turn.tls_port));
            if let Some(problem) = uncovered(r.ctx, host) {
                r.problems.push(problem);
            }
        } else {
            r.problems.push(format!(
                "jitsi.turn.tls_host is set but nginx's stream module is missing ({}; apt-get install libnginx-mod-stream): TURN shares no port 443",
                nginx::STREAM_MODULE
            ));
        }
    }
    let mime_types = read_optional(&r.ctx.paths.join(nginx::MIME_TYPES))?
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    let text = nginx::render_site(&nginx::Inputs {
        domain,
        jitsi_meet: r
            .ctx
            .paths
            .join(nginx::JITSI_MEET)
            .join("index.html")
            .exists(),
        turn_on_443,
        mime_types: mime_types.as_deref(),
    });
    r.put(nginx::SITE, &text, None, Service::Nginx)?;
    let stream = r.ctx.paths.join(nginx::STREAM);
    match turn_on_443 {
        Some((host, port)) => {
            r.put(
                nginx::STREAM,
                &nginx::render_stream(host, port),
                None,
                Service::Nginx,
            )?;
        }
        None if stream.exists() => {
            r.ctx.refreshes.expect(&[Service::Nginx])?;
            std::fs::remove_file(&stream)?;
            r.done.push(format!("{} removed", nginx::STREAM));
        }
        None => {}
    }
    Ok(())
}

/// Why the installed certificate does not serve `host`, if it does not.
fn uncovered(ctx: &Context<'_>, host: &str) -> Option<String> {
    let pair = crate::tls::installed(ctx.paths)?;
    crate::tls::verify::check(&pair, &[host.to_string()], time::OffsetDateTime::now_utc())
        .err()
        .map(|e| {
            format!("the installed certificate does not serve jitsi.turn.tls_host {host} ({e:#}): TURN clients on port 443 will refuse it")
        })
}

/// Gives `focus@auth.DOMAIN` and `jvb@auth.DOMAIN` this instance's passwords, and focus's
/// roster the `focus.DOMAIN` entry prosody's client_proxy needs (upstream's postinst
/// subscription), once per domain and set of passwords (their fingerprints are remembered,
/// never the passwords), in prosody's storage (`MEET_AGENT_PROSODY_DATA`, else
/// /var/lib/prosody below the root).
fn accounts(ctx: &Context<'_>, domain: &str, secrets: &Secrets) -> Result<Option<String>> {
    let marker = ctx.paths.join("/var/lib/meet-agent/prosody-accounts");
    let prints = secrets.fingerprints();
    // "roster" marks markers written since the roster entry exists, so that a server set
    // up before it gets the entry at its next run.
    let wanted = format!(
        "{domain} {} {} roster\n",
        prints["focus_password"], prints["jvb_password"]
    );
    if read_optional(&marker)?.is_some_and(|b| b == wanted.as_bytes()) {
        return Ok(None);
    }
    let data = std::env::var_os("MEET_AGENT_PROSODY_DATA").map_or_else(
        || ctx.paths.join("/var/lib/prosody"),
        std::path::PathBuf::from,
    );
    let auth_host = format!("auth.{domain}");
    prosody_accounts::write(&data, &auth_host, "focus", &secrets.focus_password)?;
    prosody_accounts::write(&data, &auth_host, "jvb", &secrets.jvb_password)?;
    let proxy = format!("focus.{domain}");
    crate::jitsi::prosody_roster::write(&data, &auth_host, "focus", &proxy)?;
    write_atomic(&marker, wanted.as_bytes(), 0o600)?;
    Ok(Some(format!(
        "prosody accounts focus@{auth_host} and jvb@{auth_host} set, {proxy} in focus's roster"
    )))
}
