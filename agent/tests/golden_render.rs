//! Golden files for every renderer across the authentication modes, from fixed inputs
//! (secrets, addresses). A change to any rendered file shows up here as a diff to review;
//! `UPDATE_GOLDEN=1 cargo test --test golden_render` rewrites them after a deliberate one.

use meet_agent::config::schema::Quality;
use meet_agent::jitsi::coturn::TurnSettings;
use meet_agent::jitsi::secrets::Secrets;
use meet_agent::jitsi::{
    coturn, jicofo, nginx, prosody, videobridge, web, AuthMode, JitsiSettings,
};
use meet_agent::state::Identity;
use std::path::PathBuf;

const DOMAIN: &str = "meet.example.test";
const TLS: (&str, &str) = (
    "/etc/meet-agent/tls/fullchain.pem",
    "/etc/meet-agent/tls/privkey.pem",
);

fn secrets() -> Secrets {
    Secrets {
        instance_id: Some("i-golden".into()),
        focus_password: "focus-password-golden".into(),
        jvb_password: "jvb-password-golden".into(),
        turn_secret: "turn-secret-golden".into(),
        jwt_app_secret: "jwt-secret-golden".into(),
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

fn identity() -> Identity {
    Identity {
        domain: Some(DOMAIN.into()),
        public_ipv4: Some("203.0.113.7".parse().unwrap()),
        local_ipv4: Some("10.0.0.5".parse().unwrap()),
        ..Identity::default()
    }
}

/// Every rendered file for `auth`: (golden file name, content).
fn render(auth: AuthMode) -> Vec<(&'static str, String)> {
    let (s, j, id) = (secrets(), settings(auth), identity());
    let plugins = auth != AuthMode::Open;
    let bridge = videobridge::Inputs {
        domain: DOMAIN,
        secrets: &s,
        public_ipv4: id.public_ipv4,
        local_ipv4: id.local_ipv4,
    };
    vec![
        (
            "turnserver.conf",
            coturn::render(&j.turn, &id, &s, TLS, None),
        ),
        (
            "ryo-jitsi.cfg.lua",
            prosody::render(&prosody::Inputs {
                domain: DOMAIN,
                auth,
                jwt: j
                    .jwt_app_id
                    .as_deref()
                    .map(|id| (id, s.jwt_app_secret.as_str())),
                secrets: &s,
                turn: &j.turn,
                tls: TLS,
                jitsi_plugins: plugins,
                lobby: j.lobby,
            }),
        ),
        (
            "jicofo.conf",
            jicofo::render(&jicofo::Inputs {
                domain: DOMAIN,
                auth,
                secrets: &s,
                jitsi_plugins: plugins,
            }),
        ),
        ("jvb.conf", videobridge::render_conf(&bridge)),
        ("videobridge.env", videobridge::render_env()),
        ("config.js", web::render(DOMAIN, &j, None)),
        (
            "nginx-site.conf",
            nginx::render_site(&nginx::Inputs {
                domain: Some(DOMAIN),
                jitsi_meet: plugins,
                turn_on_443: j.turn.tls_host.as_deref().map(|h| (h, j.turn.tls_port)),
            }),
        ),
    ]
}

#[test]
fn rendered_files_match_the_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut differ = Vec::new();
    for auth in [AuthMode::Open, AuthMode::SecureDomain, AuthMode::Jwt] {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(auth.as_str());
        for (name, text) in render(auth) {
            let path = dir.join(name);
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &text).unwrap();
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(golden) if golden == text => {}
                Ok(_) => differ.push(format!("{} differs", path.display())),
                Err(e) => differ.push(format!("{}: {e}", path.display())),
            }
        }
    }
    assert!(
        differ.is_empty(),
        "{}; review, then UPDATE_GOLDEN=1 cargo test --test golden_render",
        differ.join("; ")
    );
}

#[test]
fn modes_differ_where_they_should() {
    let file = |auth, name| {
        render(auth)
            .into_iter()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1
    };
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
    assert!(file(AuthMode::Jwt, "nginx-site.conf").contains("listen 127.0.0.1:4444 ssl http2;"));
}
