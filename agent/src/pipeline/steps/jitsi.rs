//! jitsi (every boot): renders the stack's configuration files the agent owns from its
//! config, the identity and the per-instance secrets (coturn, prosody, jicofo, the
//! videobridge, the web app's config.js, the nginx site), and gives prosody the internal
//! accounts (jicofo's `focus`, the bridge's `jvb`) those secrets' passwords. Files change
//! only when their content does; each has a local file for the operator's additions. The
//! services whose files changed are reloaded or restarted by the start step.

use crate::apply::Service;
use crate::bridge::roles::RoleSettings;
use crate::fsutil::{read_optional, write_atomic};
use crate::jitsi::secrets::Secrets;
use crate::jitsi::{
    assemble, coturn, jwt_check, nginx, prosody, prosody_accounts, videobridge, web,
};
use crate::jitsi::{AuthMode, JitsiSettings};
use crate::pipeline::{settings, ApplyHandle, Input, Outcome, Ran, Step, StepName};
use crate::vocab::Role;
use anyhow::Result;

/// The step's declaration: its name and when it runs.
pub const STEP: Step = Step::every_boot(StepName::Jitsi, |ctx, apply| {
    Box::pin(async move { run(ctx, apply).map(Ran::from) })
});

/// What one run rendered and found.
struct Renders<'c, 'a> {
    ctx: &'c Input<'a>,
    apply: &'c mut ApplyHandle,
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
            .apply
            .refreshes
            .write(&full, text.as_bytes(), mode, group, service)?;
        if changed {
            self.done.push(format!("{path} rendered"));
        }
        Ok(())
    }

    /// Writes `text` to `path` for `user` alone (0600, its own), as [`Renders::put`].
    fn put_for_user(&mut self, path: &str, text: &str, user: &str, service: Service) -> Result<()> {
        let full = self.ctx.paths.join(path);
        if self
            .apply
            .refreshes
            .write_for_user(&full, text.as_bytes(), user, service)?
        {
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
fn run(ctx: &Input<'_>, apply: &mut ApplyHandle) -> Result<Outcome> {
    let settings = settings(ctx)?;
    let secrets = match &ctx.observed.secrets {
        // The secrets step's of this run, not read back from the file it just wrote.
        Some(secrets) => Some(secrets.clone()),
        None => Secrets::load(ctx.paths)?,
    };
    let Some(mut secrets) = secrets else {
        return Ok(Outcome::failed(
            "no per-instance secrets yet; run `meet-agent run --step secrets`, then `--step jitsi`",
        ));
    };
    let roles = &settings.roles;
    // The bridges of a deployment and its signaling node share the token's `jvb` account.
    if let Some(token) = &roles.join {
        secrets.jvb_password = token.password().to_string();
    }
    let mut r = Renders {
        ctx,
        apply,
        done: Vec::new(),
        problems: Vec::new(),
    };
    let domain = match (&roles.join, roles.role) {
        (Some(token), role) if role.joins() => Some(token.domain().to_string()),
        _ => r.ctx.identity.domain.clone(),
    };
    let auth_cert = match prepare(&mut r, settings, domain.as_deref())? {
        Ok(auth_cert) => auth_cert,
        Err(refused) => return Ok(refused),
    };
    render(&mut r, settings, &secrets, domain.as_deref(), auth_cert)?;
    if let (Some(d), false) = (&domain, roles.role.joins()) {
        let recorders = assemble::offers_recording(roles.role, &settings.recording);
        let gateways = settings.sip.offered();
        check_logins(&mut r, &settings.jitsi, d, &secrets, (recorders, gateways));
    }
    let recorder_here = roles.role == Role::Recorder
        || (settings.recording.local
            && assemble::offers_recording(roles.role, &settings.recording)
            && r.ctx.identity.cpus >= crate::recording::settings::RECORDER_MIN_CPUS);
    if recorder_here {
        match crate::recording::spool::prepare(r.ctx.paths, crate::recording::spool::JIBRI_USER)? {
            Ok(made) if made.is_empty() => {}
            Ok(made) => r.done.push(made),
            Err(why) => r.problems.push(why),
        }
        match crate::recording::runtime::check(r.ctx.paths).message() {
            Ok(present) => r.done.push(present),
            Err(lacking) => r.problems.push(lacking),
        }
    }
    // On a SIP gateway of its own, validation makes jigasi run here.
    if settings.sip.runs_here() {
        let user = crate::jitsi::jigasi::USER;
        if nix::unistd::User::from_name(user).ok().flatten().is_none() {
            r.problems.push(format!(
                "jigasi is not installed (no user {user}): no phone can join a meeting; jigasi comes from Jitsi's package repository, which the offline image cannot reach (docs/sip.md)"
            ));
        }
    }
    let cpus = r.ctx.identity.cpus;
    if settings.recording.local && cpus < crate::recording::settings::RECORDER_MIN_CPUS {
        r.problems.push(format!(
            "recording.local is set, but this machine has {cpus} CPUs and a recorder needs {}: no recorder runs here (use a larger machine, or recorders of their own with server.role = \"recorder\")",
            crate::recording::settings::RECORDER_MIN_CPUS
        ));
    }
    let message = summary(&r, roles, &secrets);
    Ok(if r.problems.is_empty() {
        Outcome::ok(message)
    } else {
        Outcome::degraded(format!("{}; {message}", r.problems.join("; ")))
    })
}

/// What comes before rendering, by role: package files that collide with ours moved away,
/// the certificate prosody presents for auth.DOMAIN (to bridges of other machines, and to
/// a jigasi on this machine, which trusts it), a bridge's trust in its signaling node.
/// Whether auth.DOMAIN's own certificate is in place, or the outcome when a node that
/// joins cannot trust its signaling node (its files are then left as they were).
fn prepare(
    r: &mut Renders<'_, '_>,
    settings: &crate::config::Settings,
    domain: Option<&str>,
) -> Result<Result<bool, Outcome>> {
    let roles = &settings.roles;
    let role = roles.role;
    if !role.joins() {
        // Package-generated files that collide with ours (a package upgrade makes them
        // again).
        let (paths, refreshes) = (r.ctx.paths, &mut r.apply.refreshes);
        let disabled = crate::jitsi::leftovers::disable_with(paths, domain, |service| {
            refreshes.mark_pending(&[service])
        });
        match disabled {
            Ok(moved) => r.done.extend(moved.into_iter().map(|m| m.message)),
            Err(e) => r.problems.push(format!("{e:#}")),
        }
        if domain.is_none() {
            r.problems.push(
                "prosody, jicofo, the videobridge and the web app are not configured: they need server.domain".into(),
            );
        }
    }
    // prosody presents auth.DOMAIN's own certificate only when it is in place; otherwise
    // the auth host keeps the site's pair (jicofo and a local bridge still log in).
    let local_gateway = !role.joins() && settings.sip.runs_here();
    if !role.joins() && !local_gateway {
        forget_own_certificate(r);
    }
    if let (Role::Signaling, Some(d)) | (Role::All, Some(d)) = (role, domain) {
        if role == Role::Signaling || local_gateway {
            let in_place = auth_certificate(r, d, roles)?;
            if in_place && local_gateway {
                trust_own_certificate(r, d);
            }
            return Ok(Ok(in_place));
        }
    }
    if let (true, Some(token)) = (role.joins(), &roles.join) {
        let (paths, refreshes) = (r.ctx.paths, &mut r.apply.refreshes);
        let service = match role {
            Role::Recorder => Service::Jibri,
            Role::Sip => Service::Jigasi,
            _ => Service::Videobridge,
        };
        // The bridge (and jibri, jigasi) read the Java store at their start: a changed
        // anchor restarts them.
        let pem = token.certificate_pem();
        match crate::bridge::trust::install(paths, pem, || refreshes.mark_pending(&[service])) {
            Ok(Some(how)) => r.done.push(format!(
                "the signaling node's certificate (token {}) {how}",
                token.fingerprint()
            )),
            Ok(None) => {}
            // A bridge that cannot verify its signaling node cannot join it: say so
            // and leave its files as they were rather than half-configured.
            Err(e) => {
                return Ok(Err(Outcome::failed(format!(
                    "the signaling node's certificate could not be trusted ({e:#}); the {} was not reconfigured",
                    role.as_str()
                ))))
            }
        }
    }
    Ok(Ok(false))
}

/// jigasi on this machine verifies prosody's certificate for auth.DOMAIN against the
/// JVM's store (bridge/trust.rs): this node's own certificate goes there.
fn trust_own_certificate(r: &mut Renders<'_, '_>, domain: &str) {
    let (paths, refreshes) = (r.ctx.paths, &mut r.apply.refreshes);
    let cert = crate::bridge::xmpp_cert::CERT;
    let pem = match read_optional(&paths.join(cert)) {
        Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        Ok(None) => return,
        Err(e) => {
            r.problems
                .push(format!("{e:#}; jigasi cannot verify prosody"));
            return;
        }
    };
    match crate::bridge::trust::install(paths, &pem, || refreshes.mark_pending(&[Service::Jigasi]))
    {
        Ok(Some(how)) => r.done.push(format!(
            "for jigasi, this node's certificate for auth.{domain} {how}"
        )),
        Ok(None) => {}
        Err(e) => r.problems.push(format!(
            "{e:#}; jigasi cannot verify prosody and joins no meeting until it is fixed"
        )),
    }
}

/// A node that does not join and runs no jigasi of its own trusts no anchor of ours (one
/// left from an earlier `sip.local`).
fn forget_own_certificate(r: &mut Renders<'_, '_>) {
    let (paths, refreshes) = (r.ctx.paths, &mut r.apply.refreshes);
    match crate::bridge::trust::remove_all(paths, || refreshes.mark_pending(&[Service::Jigasi])) {
        Ok(Some(how)) => r.done.push(format!("the anchor for jigasi {how}")),
        Ok(None) => {}
        Err(e) => r.problems.push(format!(
            "{e:#}; jigasi no longer runs here, so its anchor should go: remove {}/{}*.crt and run update-ca-certificates",
            crate::bridge::trust::ANCHORS,
            crate::bridge::trust::PREFIX
        )),
    }
}

/// Renders the stack's files (and removes the TURN stream server when TURN is not on 443).
fn render(
    r: &mut Renders<'_, '_>,
    settings: &crate::config::Settings,
    secrets: &Secrets,
    domain: Option<&str>,
    auth_cert: bool,
) -> Result<()> {
    let (roles, j) = (&settings.roles, &settings.jitsi);
    let paths = r.ctx.paths;
    let plugins = paths.join(prosody::JITSI_PLUGINS).is_dir();
    let jitsi_meet = paths.join(nginx::JITSI_MEET).join("index.html").exists();
    let coturn_local = r.local(coturn::LOCAL)?;
    let web_local = r.local(web::LOCAL)?;
    let mime_types = read_optional(&paths.join(nginx::MIME_TYPES))?
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    let turn_on_443 = if roles.role.joins() {
        None
    } else {
        turn_on_443(r, j)
    };
    let files = assemble::assemble(&assemble::Inputs {
        domain,
        jitsi: j,
        roles,
        recording: &settings.recording,
        sip: &settings.sip,
        secrets,
        identity: &r.ctx.identity,
        instance_id: r.ctx.instance_id.as_deref(),
        jitsi_plugins: plugins,
        jitsi_meet,
        coturn_local: coturn_local.as_deref(),
        web_local: web_local.as_deref(),
        mime_types: mime_types.as_deref(),
        turn_on_443,
        auth_cert,
    });
    for f in &files {
        match f.owner {
            Some(user) => r.put_for_user(&f.path, &f.text, user, f.unit)?,
            None => r.put(&f.path, &f.text, f.group, f.unit)?,
        }
    }
    let stream = paths.join(nginx::STREAM);
    if turn_on_443.is_none() && stream.exists() {
        r.apply.refreshes.mark_pending(&[Service::Nginx])?;
        std::fs::remove_file(&stream)?;
        r.done.push(format!("{} removed", nginx::STREAM));
    }
    Ok(())
}

/// On a node with a site: whether JWT logins can work, and prosody's internal accounts.
fn check_logins(
    r: &mut Renders<'_, '_>,
    j: &JitsiSettings,
    domain: &str,
    secrets: &Secrets,
    joiners: (bool, bool),
) {
    let plugins = r.ctx.paths.join(prosody::JITSI_PLUGINS).is_dir();
    if j.auth == AuthMode::Jwt && !plugins {
        r.problems.push(
            "JWT authentication needs Jitsi's prosody plugins (jitsi-meet-prosody), which this image lacks".into(),
        );
    }
    if let (AuthMode::Jwt, Some(app_id)) = (j.auth, j.jwt_app_id.as_deref()) {
        // The libraries matter whether or not the plugins are there yet: checked with
        // the secret prosody is given, as prosody's own interpreter would run them.
        let secret = j
            .jwt_app_secret
            .as_ref()
            .map_or(secrets.jwt_app_secret.as_str(), |s| s.expose());
        match jwt_check::check(std::path::Path::new(jwt_check::LUA), app_id, domain, secret) {
            Ok(()) => r.done.push(
                "JWT: prosody's Lua 5.4 verifies a token signed with jitsi.jwt_app_secret and refuses a forged one".into(),
            ),
            Err(e) => r.problems.push(e),
        }
    }
    match accounts(r.ctx, domain, secrets, joiners) {
        Ok(Some(message)) => r.done.push(message),
        Ok(None) => {}
        Err(e) => r.problems.push(format!("{e:#}")),
    }
}

/// The step's message: what changed, whom a bridge joins, the videobridge's address
/// mapping.
fn summary(r: &Renders<'_, '_>, roles: &RoleSettings, secrets: &Secrets) -> String {
    let role = roles.role;
    let mut message = if r.done.is_empty() {
        "every file already up to date".to_string()
    } else {
        r.done.join("; ")
    };
    if let (true, Some(token)) = (role.joins(), &roles.join) {
        let nickname = match role {
            Role::Recorder => assemble::recorder_nickname(r.ctx.instance_id.as_deref(), secrets),
            // jigasi names itself in the brewery (a generated resource of the shared account).
            Role::Sip => token.username().to_string(),
            _ => assemble::bridge_nickname(role, r.ctx.instance_id.as_deref(), secrets),
        };
        message.push_str(&format!(
            "; joins {}:{} as {nickname} (token {})",
            roles.signaling_host.as_deref().unwrap_or(token.host()),
            token.port(),
            token.fingerprint()
        ));
    }
    let identity = &r.ctx.identity;
    let has_bridge = role == Role::Videobridge || roles.local_bridge;
    match videobridge::mapping(identity.local_ipv4, identity.public_ipv4) {
        Some((local, public)) if has_bridge => {
            message.push_str(&format!("; videobridge maps {local} to {public}"))
        }
        // Right on a LAN; on the internet the operator needs to know.
        None if has_bridge && identity.public_ipv4.is_none() => message.push_str(
            "; no public IPv4 known, so the videobridge offers only its own addresses (set server.public_ipv4 if clients come from the internet)",
        ),
        _ => {}
    }
    message
}

/// The certificate prosody presents for auth.DOMAIN, to bridges of other machines and to a
/// jigasi on this one (made here, or the pre-made token's with `bridge.auth_key`); whether
/// it is in place.
fn auth_certificate(r: &mut Renders<'_, '_>, domain: &str, roles: &RoleSettings) -> Result<bool> {
    let key = match &roles.auth_key {
        Some(k) => Some(crate::tls::material::read(k.expose(), "bridge.auth_key")?),
        None => None,
    };
    let adopted = roles.join.as_ref().zip(key.as_deref());
    let (paths, refreshes) = (r.ctx.paths, &mut r.apply.refreshes);
    match crate::bridge::xmpp_cert::ensure(
        paths,
        domain,
        adopted,
        time::OffsetDateTime::now_utc(),
        || refreshes.mark_pending(&[Service::Prosody]),
    ) {
        Ok((_, outcome)) => {
            use crate::bridge::xmpp_cert::Outcome as O;
            let what = match outcome {
                O::Kept => None,
                O::Made => Some(format!("a certificate for auth.{domain} made")),
                O::Adopted => Some(format!(
                    "the pre-made token's certificate for auth.{domain} installed"
                )),
            };
            r.done.extend(what);
            Ok(true)
        }
        Err(e) => {
            r.problems.push(format!(
                "{e:#}; nothing that verifies prosody's certificate for auth.{domain} (bridges of other machines, jigasi) can join until it is fixed"
            ));
            Ok(false)
        }
    }
}

/// TURN on port 443 through nginx's stream module, when configured and possible.
fn turn_on_443<'j>(r: &mut Renders<'_, '_>, j: &'j JitsiSettings) -> Option<(&'j str, u16)> {
    let host = j.turn.tls_host.as_ref()?;
    if !r.ctx.paths.join(nginx::STREAM_MODULE).exists() {
        r.problems.push(format!(
            "jitsi.turn.tls_host is set but nginx's stream module is missing ({}; apt-get install libnginx-mod-stream): TURN shares no port 443",
            nginx::STREAM_MODULE
        ));
        return None;
    }
    if let Some(problem) = uncovered(r.ctx, host) {
        r.problems.push(problem);
    }
    Some((host.as_str(), j.turn.tls_port))
}

/// Why the installed certificate does not serve `host`, if it does not.
fn uncovered(ctx: &Input<'_>, host: &str) -> Option<String> {
    // The pair the tls step of this run left installed; read from disk only when it did
    // not run (`run --step jitsi`, or it failed).
    let read;
    let pair = match &ctx.observed.live_pair {
        Some(pair) => pair,
        None => {
            read = crate::tls::installed(ctx.paths)?;
            &read
        }
    };
    crate::tls::verify::check(pair, &[host.to_string()], time::OffsetDateTime::now_utc())
        .err()
        .map(|e| {
            format!("the installed certificate does not serve jitsi.turn.tls_host {host} ({e:#}): TURN clients on port 443 will refuse it")
        })
}

/// Gives `focus@auth.DOMAIN` and `jvb@auth.DOMAIN` this instance's passwords (and, where
/// recorders join, `jibri@auth.DOMAIN` and `recorder@recorder.DOMAIN`; where SIP gateways
/// join, `jigasi@auth.DOMAIN`: `joiners` is (recorders, gateways)), and focus's
/// roster the `focus.DOMAIN` entry prosody's client_proxy needs (upstream's postinst
/// subscription), once per domain and set of passwords (their fingerprints are remembered,
/// never the passwords), in prosody's storage (/var/lib/prosody below the root).
fn accounts(
    ctx: &Input<'_>,
    domain: &str,
    secrets: &Secrets,
    (recorders, gateways): (bool, bool),
) -> Result<Option<String>> {
    let marker = ctx.paths.join("/var/lib/meet-agent/prosody-accounts");
    let prints = secrets.fingerprints();
    // "roster" marks markers written since the roster entry exists, so that a server set
    // up before it gets the entry at its next run.
    let mut wanted = format!(
        "{domain} {} {} roster",
        prints["focus_password"], prints["jvb_password"]
    );
    if recorders {
        wanted.push_str(&format!(
            " {} {}",
            prints["jibri_password"], prints["recorder_password"]
        ));
    }
    if gateways {
        wanted.push_str(&format!(" {}", prints["jigasi_password"]));
    }
    wanted.push('\n');
    if read_optional(&marker)?.is_some_and(|b| b == wanted.as_bytes()) {
        return Ok(None);
    }
    let data = ctx.paths.prosody_data();
    let names = crate::plan::xmpp::XmppNames::new(domain);
    let auth_host = names.auth.clone();
    let account = |host, user, password| prosody_accounts::Account {
        host,
        user,
        password,
    };
    let mut accounts = vec![
        account(&auth_host, "focus", &secrets.focus_password),
        account(&auth_host, "jvb", &secrets.jvb_password),
    ];
    let mut more_accounts = String::new();
    if recorders {
        use crate::bridge::token::{CALL_USERNAME, RECORDER_USERNAME};
        accounts.push(account(
            &auth_host,
            RECORDER_USERNAME,
            &secrets.jibri_password,
        ));
        accounts.push(account(
            &names.recorder,
            CALL_USERNAME,
            &secrets.recorder_password,
        ));
        more_accounts = format!(", {} and {}", names.jibri_jid, names.recorder_jid);
    }
    if gateways {
        accounts.push(account(
            &auth_host,
            crate::plan::xmpp::JIGASI_USERNAME,
            &secrets.jigasi_password,
        ));
        more_accounts.push_str(&format!(", {}", names.jigasi_jid));
    }
    prosody_accounts::write_all(&data, &accounts)?;
    let proxy = names.focus_component.clone();
    crate::jitsi::prosody_roster::write(&data, &auth_host, "focus", &proxy)?;
    write_atomic(&marker, wanted.as_bytes(), 0o600)?;
    Ok(Some(format!(
        "prosody accounts focus@{auth_host} and jvb@{auth_host}{more_accounts} set, {proxy} in focus's roster"
    )))
}
