//! Golden files for every renderer across the authentication modes, from fixed inputs
//! (secrets, addresses), in two sets: `golden/MODE/` without Jitsi's prosody plugins and
//! web app (the offline image), `golden/MODE-jitsi-present/` with them (the image built
//! with Jitsi's packages). A change to any rendered file shows up here as a diff to review;
//! `UPDATE_GOLDEN=1 cargo test --test golden_render` rewrites them after a deliberate one.
//! The rendered jvb.conf, jicofo.conf and jibri.conf are also checked key by key against
//! the components' own reference.conf files (../shared/upstream, beside the repository).

use meet_agent::bridge::token::Token;
use meet_agent::config::schema::Quality;
use meet_agent::config::schema::Role;
use meet_agent::config::validate_roles::RoleSettings;
use meet_agent::jitsi::coturn::TurnSettings;
use meet_agent::jitsi::secrets::Secrets;
use meet_agent::jitsi::{
    assemble, coturn, dial_in, jibri, jicofo, jigasi, nginx, prosody, videobridge, web, AuthMode,
    JitsiSettings,
};
use meet_agent::recording::settings::WELL_KNOWN_RTMP;
use meet_agent::recording::RecordingSettings;
use meet_agent::secret::Secret;
use meet_agent::sip::{DialInNumber, SipAccount, SipSettings, Transport};
use meet_agent::state::Identity;
use std::path::{Path, PathBuf};
use std::process::Command;

const DOMAIN: &str = "meet.example.test";

fn secrets() -> Secrets {
    Secrets {
        instance_id: Some("i-golden".into()),
        focus_password: "focus-password-golden".into(),
        jvb_password: "jvb-password-golden".into(),
        turn_secret: "turn-secret-golden".into(),
        jwt_app_secret: "jwt-secret-golden".into(),
        jibri_password: "jibri-password-golden".into(),
        recorder_password: "recorder-password-golden".into(),
        jigasi_password: "jigasi-password-golden".into(),
    }
}

fn settings(auth: AuthMode) -> JitsiSettings {
    JitsiSettings {
        auth,
        jwt_app_id: (auth == AuthMode::Jwt).then(|| "golden-app".to_string()),
        jwt_app_secret: None,
        turn: TurnSettings {
            port: 3478,
            tls_port: 5349,
            listen: Vec::new(),
            relay_ports: (49152, 65535),
            tls_host: (auth == AuthMode::Jwt).then(|| format!("turn.{DOMAIN}")),
        },
        lobby: true,
        prejoin: true,
        e2ee: true,
        quality: Quality::default(),
    }
}

/// Behind NAT (a static mapping is rendered) or on a LAN (no public address known).
fn identity(nat: bool) -> Identity {
    Identity {
        domain: Some(DOMAIN.into()),
        public_ipv4: nat.then(|| "203.0.113.7".parse().unwrap()),
        local_ipv4: Some("10.0.0.5".parse().unwrap()),
        cpus: 4,
        ..Identity::default()
    }
}

/// What Debian 12's /etc/nginx/mime.types says about the web app's types: wasm, not wav.
const DEBIAN_MIME_TYPES: &str = "types {\n    application/wasm wasm;\n    audio/mpeg mp3;\n}\n";

/// The machine's role for a golden set: the single machine, or a deployment's signaling
/// node or bridge (joining with a token for the signaling node at `signal.example.test`).
fn roles(role: Role) -> RoleSettings {
    let join = role.joins().then(|| {
        let pair = meet_agent::bridge::xmpp_cert::generate(DOMAIN, time::OffsetDateTime::now_utc())
            .unwrap();
        if role == Role::Recorder {
            return Token::for_recorder(
                "signal.example.test",
                5222,
                DOMAIN,
                "jibri-password-of-the-deployment",
                "recorder-password-of-the-deployment",
                &pair.chain_pem(),
            )
            .unwrap();
        }
        if role == Role::Sip {
            return Token::for_sip(
                "signal.example.test",
                5222,
                DOMAIN,
                "jigasi-password-of-the-deployment",
                &pair.chain_pem(),
            )
            .unwrap();
        }
        Token::new(
            "signal.example.test",
            5222,
            DOMAIN,
            "jvb-password-of-the-deployment",
            &pair.chain_pem(),
        )
        .unwrap()
    });
    RoleSettings {
        role,
        local_bridge: role == Role::All,
        region: (role == Role::Videobridge).then(|| "eu-central-1".to_string()),
        join,
        ..RoleSettings::default()
    }
}

/// Every file the jitsi step's assembly makes for `auth` and `role`, with or without
/// Jitsi's prosody plugins and web app (`jitsi`), behind NAT or not: (golden file name,
/// content). The same function the step calls, so the step's wiring is what is checked.
fn render(auth: AuthMode, jitsi: bool, nat: bool, role: Role) -> Vec<(&'static str, String)> {
    render_with(auth, jitsi, nat, role, (false, false))
}

/// The SIP settings of the `sip-local` set: an account over TLS with a password that
/// needs escaping in a properties file, dial-in numbers and a default room, jigasi here.
fn sip(local: bool) -> SipSettings {
    if !local {
        return SipSettings::default();
    }
    SipSettings {
        account: Some(SipAccount {
            server: "sip.provider.example".into(),
            port: 5061,
            transport: Transport::Tls,
            username: "meet-gateway".into(),
            password: Secret::new("sip password é\\golden"),
            domain: "provider.example".into(),
        }),
        dial_in: vec![DialInNumber {
            country: "US".into(),
            number: "+1 555 0100".into(),
        }],
        default_room: Some("lobby".into()),
        local: true,
        media_sources: Vec::new(),
    }
}

/// [`render`], with a recorder and jigasi on the machine itself: `here` is
/// (`recording.local`, `sip.local`).
fn render_with(
    auth: AuthMode,
    jitsi: bool,
    nat: bool,
    role: Role,
    (local_recorder, local_sip): (bool, bool),
) -> Vec<(&'static str, String)> {
    let (s, j, id) = (secrets(), settings(auth), identity(nat));
    let roles = roles(role);
    let recording = RecordingSettings {
        local: local_recorder,
        rtmp_allow: WELL_KNOWN_RTMP.iter().map(|p| p.to_string()).collect(),
        ..RecordingSettings::default()
    };
    // A SIP gateway of its own runs jigasi with its account whatever `sip.local` says.
    let sip = match role {
        Role::Sip => SipSettings {
            dial_in: Vec::new(),
            ..sip(true)
        },
        _ => sip(local_sip),
    };
    let files = assemble::assemble(&assemble::Inputs {
        domain: Some(DOMAIN),
        jitsi: &j,
        roles: &roles,
        recording: &recording,
        sip: &sip,
        secrets: &s,
        identity: &id,
        instance_id: Some("i-0123456789abcdef0"),
        jitsi_plugins: jitsi,
        jitsi_meet: jitsi,
        coturn_local: None,
        web_local: None,
        mime_types: Some(DEBIAN_MIME_TYPES),
        turn_on_443: j.turn.tls_host.as_deref().map(|h| (h, j.turn.tls_port)),
        // As the jitsi step decides: auth.DOMAIN's own certificate for bridges of other
        // machines (signaling) and for a jigasi here.
        auth_cert: role == Role::Signaling || (role == Role::All && local_sip),
    });
    files
        .into_iter()
        .map(|f| {
            let name = match f.path.as_str() {
                coturn::PATH => "turnserver.conf",
                prosody::PATH => "ryo-jitsi.cfg.lua",
                jicofo::CONF => "jicofo.conf",
                videobridge::CONF => "jvb.conf",
                videobridge::ENV => "videobridge.env",
                nginx::SITE => "nginx-site.conf",
                nginx::STREAM => "nginx-stream.conf",
                jibri::CONF => "jibri.conf",
                jigasi::PROPERTIES => "sip-communicator.properties",
                jigasi::ENV => "jigasi.env",
                dial_in::NUMBERS => "dial-in-numbers.json",
                p if p == web::path(DOMAIN) => "config.js",
                other => panic!("assemble made {other}, which has no golden name"),
            };
            (name, f.text)
        })
        .collect()
}

/// One golden set: its folder, the mode, Jitsi's plugins and web app, the role, and a
/// recorder and jigasi on the machine itself.
type Set = (PathBuf, AuthMode, bool, Role, (bool, bool));

/// The golden sets: every mode on the single machine, the roles of a deployment, and a
/// single machine recording itself (JWT: the token decides who may record).
fn sets() -> Vec<Set> {
    let mut sets = Vec::new();
    for auth in MODES {
        for jitsi in [false, true] {
            sets.push((
                golden_dir(auth, jitsi),
                auth,
                jitsi,
                Role::All,
                (false, false),
            ));
        }
    }
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    for role in [
        Role::Signaling,
        Role::Videobridge,
        Role::Recorder,
        Role::Sip,
    ] {
        let dir = golden.join(format!("{}-jitsi-present", role.as_str()));
        sets.push((dir, AuthMode::Open, true, role, (false, false)));
    }
    sets.push((
        golden.join("jwt-recording-local-jitsi-present"),
        AuthMode::Jwt,
        true,
        Role::All,
        (true, false),
    ));
    // Phones: jigasi on a secure-domain server (each call logs in as jigasi).
    sets.push((
        golden.join("secure-domain-sip-local-jitsi-present"),
        AuthMode::SecureDomain,
        true,
        Role::All,
        (false, true),
    ));
    // Phones on a token site: dialling out is filtered by the token's features.
    sets.push((
        golden.join("jwt-sip-local-jitsi-present"),
        AuthMode::Jwt,
        true,
        Role::All,
        (false, true),
    ));
    sets
}

const MODES: [AuthMode; 3] = [AuthMode::Open, AuthMode::SecureDomain, AuthMode::Jwt];

/// The golden folder of a mode, with (`jitsi`) or without Jitsi's plugins and web app.
fn golden_dir(auth: AuthMode, jitsi: bool) -> PathBuf {
    let name = if jitsi {
        format!("{}-jitsi-present", auth.as_str())
    } else {
        auth.as_str().to_string()
    };
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

#[test]
fn rendered_files_match_the_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut differ = Vec::new();
    for (dir, auth, jitsi, role, local) in sets() {
        let files = render_with(auth, jitsi, true, role, local);
        for (name, text) in &files {
            let path = dir.join(name);
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, text).unwrap();
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(golden) if golden == *text => {}
                Ok(_) => differ.push(format!("{} differs", path.display())),
                Err(e) => differ.push(format!("{}: {e}", path.display())),
            }
        }
        // A golden file the assembly no longer makes is a difference too.
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !files.iter().any(|(n, _)| *n == name) {
                differ.push(format!("{} is no longer made", entry.path().display()));
            }
        }
    }
    assert!(
        differ.is_empty(),
        "{}; review, then UPDATE_GOLDEN=1 cargo test --test golden_render",
        differ.join("; ")
    );
}

/// The components' reference.conf files: ../shared/upstream beside the repository. They
/// are upstream's files and stay outside it; without them this test cannot say anything.
fn upstream_references() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/upstream");
    for name in [
        "jitsi-videobridge.reference.conf",
        "jitsi-media-transform.reference.conf",
        "ice4j.reference.conf",
        "jicofo-common.reference.conf",
        "jicofo-selector.reference.conf",
        "jicofo.reference.conf",
        "jibri.reference.conf",
    ] {
        assert!(
            dir.join(name).is_file(),
            "{} is missing: the HOCON key check needs upstream's reference.conf files in \
             ../shared/upstream beside the repository (see its README.md and SOURCES.txt)",
            dir.join(name).display()
        );
    }
    dir
}

/// Runs tests/hocon_reference.py (pyhocon, from tests/install-deps) over `files`
/// (kind, path); its problems, one per line, if any.
fn reference_problems(files: &[(&str, PathBuf)]) -> Result<(), String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hocon_reference.py");
    let out = Command::new("/usr/bin/python3")
        .env("PYTHONPATH", PYHOCON)
        .arg(script)
        .arg(upstream_references())
        .args(files.iter().map(|(k, p)| format!("{k}={}", p.display())))
        .output()
        .expect("python3");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1) && !said.contains("Error"),
        "the checker did not run (pyhocon at {PYHOCON}, from tests/install-deps): {said}"
    );
    if out.status.success() {
        Ok(())
    } else {
        Err(said)
    }
}

const PYHOCON: &str = "/var/cache/ryo-jitsi/pyhocon";

#[test]
fn every_hocon_key_is_one_upstreams_reference_conf_has() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (_, auth, jitsi, role, local) in sets() {
        for nat in [false, true] {
            for (name, text) in render_with(auth, jitsi, nat, role, local) {
                let kind = match name {
                    "jvb.conf" => "jvb",
                    "jicofo.conf" => "jicofo",
                    "jibri.conf" => "jibri",
                    _ => continue,
                };
                let path = dir.path().join(format!(
                    "{}-{}-{jitsi}-{}-{}-{nat}-{name}",
                    role.as_str(),
                    auth.as_str(),
                    local.0,
                    local.1
                ));
                // The operator's file is not part of what the agent renders.
                let text = text.replace("/etc/meet-agent/", &format!("{}/", dir.path().display()));
                std::fs::write(&path, text).unwrap();
                files.push((kind, path));
            }
        }
    }
    // 6 single-machine sets with both files, a signaling node's jicofo.conf, a bridge's
    // jvb.conf, a recorder's jibri.conf, a single machine recording itself (all three), a
    // single machine with jigasi, twice (jicofo's and the bridge's); each behind NAT and not.
    assert_eq!(files.len(), 2 * (6 * 2 + 1 + 1 + 1 + 3 + 2 + 2));
    if let Err(problems) = reference_problems(&files) {
        panic!("rendered HOCON keys that upstream's reference.conf lacks:\n{problems}");
    }

    // The check itself catches a key the bridge does not have and a value of the wrong type.
    let bad = dir.path().join("bad-jvb.conf");
    std::fs::write(
        &bad,
        "videobridge { websockets { no-such-key = 1 }, health { require-valid-address = \"no\" } }\n",
    )
    .unwrap();
    let problems = reference_problems(&[("jvb", bad)]).unwrap_err();
    assert!(
        problems.contains("videobridge.websockets.no-such-key is not in")
            && problems.contains("require-valid-address is a string"),
        "{problems}"
    );
    // And inside jibri's environments, which reference.conf leaves as an empty list.
    let bad = dir.path().join("bad-jibri.conf");
    std::fs::write(
        &bad,
        "jibri.api.xmpp.environments = [ { name = \"x\", control-login { no-such-key = 1 }, usage-timeout = true } ]\n",
    )
    .unwrap();
    let problems = reference_problems(&[("jibri", bad)]).unwrap_err();
    assert!(
        problems.contains("environments[].control-login.no-such-key is not in")
            && problems.contains("usage-timeout is a boolean"),
        "{problems}"
    );
}

/// A file of one mode's rendered set.
fn file(auth: AuthMode, jitsi: bool, nat: bool, name: &str) -> String {
    render(auth, jitsi, nat, Role::All)
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap()
        .1
}

#[test]
fn modes_differ_where_they_should() {
    // As before the two golden sets: open without Jitsi's plugins, the others with them.
    let file = |auth, name| file(auth, auth != AuthMode::Open, true, name);
    assert!(file(AuthMode::Open, "ryo-jitsi.cfg.lua").contains("authentication = \"anonymous\""));
    assert!(file(AuthMode::SecureDomain, "ryo-jitsi.cfg.lua")
        .contains("authentication = \"internal_hashed\""));
    assert!(file(AuthMode::SecureDomain, "ryo-jitsi.cfg.lua")
        .contains(&format!("VirtualHost \"guest.{DOMAIN}\"")));
    assert!(file(AuthMode::Jwt, "ryo-jitsi.cfg.lua").contains("app_secret = \"jwt-secret-golden\""));
    assert!(!file(AuthMode::Open, "jicofo.conf").contains("authentication"));
    assert!(file(AuthMode::SecureDomain, "jicofo.conf").contains("type = XMPP"));
    assert!(file(AuthMode::Jwt, "jicofo.conf").contains("type = JWT"));
    assert!(file(AuthMode::SecureDomain, "config.js")
        .contains(&format!("\"anonymousdomain\": \"guest.{DOMAIN}\"")));
    assert!(file(AuthMode::Jwt, "nginx-site.conf")
        .contains("listen 127.0.0.1:4444 ssl http2 proxy_protocol;"));
}

#[test]
fn the_bridge_has_no_websockets_and_relaxes_its_address_check_only_without_a_mapping() {
    for auth in MODES {
        for jitsi in [false, true] {
            let nat = file(auth, jitsi, true, "jvb.conf");
            let lan = file(auth, jitsi, false, "jvb.conf");
            for conf in [&nat, &lan] {
                // Upstream removed colibri websockets and the public server on 9090 (2026).
                assert!(
                    !conf.contains("websockets {") && !conf.contains("9090"),
                    "{conf}"
                );
                assert!(!conf.contains("public {"), "{conf}");
                assert!(conf.contains("private { host = \"127.0.0.1\", port = 8080 }"));
                assert!(conf.contains("rest { enabled = true }"), "{conf}");
            }
            assert!(nat.contains("public-address = \"203.0.113.7\""), "{nat}");
            assert!(!nat.contains("require-valid-address"), "{nat}");
            assert!(lan.contains("require-valid-address = false"), "{lan}");
            assert!(lan.contains("static-mappings = []"), "{lan}");
            let site = file(auth, jitsi, true, "nginx-site.conf");
            assert!(!site.contains("colibri-ws"), "{site}");
        }
    }
}

#[test]
fn with_the_web_app_the_site_serves_its_files_and_without_it_the_appliances_page() {
    let present = file(AuthMode::Open, true, true, "nginx-site.conf");
    let absent = file(AuthMode::Open, false, true, "nginx-site.conf");
    assert!(present.contains("root /usr/share/jitsi-meet;") && present.contains("location @room"));
    assert!(absent.contains("root /usr/share/ryo-jitsi/www;") && !absent.contains("@room"));
    for site in [&present, &absent] {
        assert!(site.contains("ssi on;"), "{site}");
        // Debian 12's mime.types has wasm already; wav is added.
        assert!(site.contains("audio/wav wav;") && !site.contains("application/wasm wasm;"));
    }
}
