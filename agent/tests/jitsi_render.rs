//! The jitsi step's files read by the programs that consume them: config.js by node
//! (`node --check`, then evaluated to read the values back), jvb.conf and jicofo.conf by a
//! HOCON parser (pyhocon from PyPI; `tests/install-deps` puts it in
//! /var/cache/ryo-jitsi/pyhocon), and the nginx site by Debian's nginx (`nginx -t`, then
//! served on loopback: HSTS, config.js pulled into a stand-in of the web app's index.html
//! by server-side includes, the wasm and wav types, BOSH and the websocket upgrade proxied
//! to a stand-in for prosody's HTTP port, and TURN over TLS on the shared port handed to
//! the real coturn by SNI).

mod common;
#[path = "common/site.rs"]
mod site;
#[path = "common/turn.rs"]
mod turn;
use common::{free_port, text, Root, TestCa};
use site::Served;
use std::process::Command;
use turn::Turnserver;

const DOMAIN: &str = "meet.example.test";
const TURN_HOST: &str = "turn.meet.example.test";

fn site(instance: &str, extra: &str) -> Root {
    let root = Root::new();
    root.write("/etc/machine-id", format!("{instance}\n"));
    // The machine's own type table, which the agent reads to add only what it lacks.
    root.write(
        "/etc/nginx/mime.types",
        std::fs::read("/etc/nginx/mime.types").expect("nginx's /etc/nginx/mime.types"),
    );
    root.config(
        "00.toml",
        &format!(
            "[source]\nprovider = \"none\"\n[server]\ndomain = \"{DOMAIN}\"\npublic_ipv4 = \"203.0.113.7\"\n{extra}"
        ),
    );
    root
}

fn read(root: &Root, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn secrets(root: &Root) -> serde_json::Value {
    serde_json::from_str(&read(root, "/var/lib/meet-agent/secrets.json")).unwrap()
}

/// The HOCON file as JSON, through pyhocon (its include of the operator's file moved below
/// the test root).
fn hocon(root: &Root, path: &str) -> serde_json::Value {
    let local = root.join("/etc/meet-agent").display().to_string();
    let copy = root.write(
        "/tmp/parsed.conf",
        read(root, path).replace("\"/etc/meet-agent", &format!("\"{local}")),
    );
    common::pyhocon_json(&copy)
}

/// config.js checked by node, then evaluated and its `config` object returned.
fn config_js(root: &Root) -> serde_json::Value {
    let path = root.join(&format!("/etc/jitsi/meet/{DOMAIN}-config.js"));
    let check = Command::new("node")
        .arg("--check")
        .arg(&path)
        .output()
        .expect("node (apt-get install nodejs)");
    assert!(check.status.success(), "node --check: {}", text(&check));
    let out = Command::new("node")
        .args([
            "-e",
            "eval(require('fs').readFileSync(process.argv[1], 'utf8') + ';console.log(JSON.stringify(config))')",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn videobridge_and_jicofo_files_parse_and_carry_this_instances_secrets_and_address() {
    let root = site(
        "0123456789abcdef0123456789abcdef",
        "[jitsi]\nauth = \"secure-domain\"\n",
    );
    let out = root.run(&["run"]);
    assert_eq!(root.step("jitsi")["state"], "ok", "{}", text(&out));
    let s = secrets(&root);

    let jvb = hocon(&root, "/etc/jitsi/videobridge/jvb.conf");
    let shard = &jvb["videobridge"]["apis"]["xmpp-client"]["configs"]["ryo-jitsi"];
    assert_eq!(shard["PASSWORD"], s["jvb_password"]);
    assert_eq!(shard["DOMAIN"], format!("auth.{DOMAIN}"));
    assert_eq!(
        shard["MUC_JIDS"],
        format!("JvbBrewery@internal.auth.{DOMAIN}")
    );
    assert!(shard["MUC_NICKNAME"].as_str().unwrap().starts_with("jvb-"));
    // No colibri websockets and no public HTTP server: the bridge channel is SCTP.
    assert!(jvb["videobridge"].get("websockets").is_none(), "{jvb:#}");
    assert!(jvb["videobridge"]["http-servers"].get("public").is_none());
    assert_eq!(
        jvb["videobridge"]["http-servers"]["private"]["host"],
        "127.0.0.1"
    );
    assert_eq!(jvb["videobridge"]["sctp"]["enabled"], true);
    assert_eq!(jvb["videobridge"]["apis"]["rest"]["enabled"], true);
    // The mapping from this machine's own address to the configured public one.
    let mappings = &jvb["ice4j"]["harvest"]["mapping"]["static-mappings"];
    let identity = &root.state()["identity"];
    match identity["local_ipv4"].as_str() {
        Some(local) if local != "203.0.113.7" => {
            assert_eq!(mappings[0]["public-address"], "203.0.113.7", "{jvb:#}");
            assert_eq!(mappings[0]["local-address"], local);
            assert!(jvb["videobridge"].get("health").is_none(), "{jvb:#}");
        }
        _ => {
            assert_eq!(mappings, &serde_json::json!([]));
            assert_eq!(
                jvb["videobridge"]["health"]["require-valid-address"], false,
                "{jvb:#}"
            );
        }
    }

    let jicofo = hocon(&root, "/etc/jitsi/jicofo/jicofo.conf");
    let client = &jicofo["jicofo"]["xmpp"]["client"];
    assert_eq!(client["password"], s["focus_password"]);
    assert_eq!(client["username"], "focus");
    assert_eq!(client["xmpp-domain"], DOMAIN);
    assert_eq!(
        jicofo["jicofo"]["bridge"]["brewery-jid"],
        format!("JvbBrewery@internal.auth.{DOMAIN}")
    );
    assert_eq!(client["conference-muc-jid"], format!("conference.{DOMAIN}"));
    assert_eq!(jicofo["jicofo"]["sctp"]["enabled"], true);
    assert_eq!(jicofo["jicofo"]["authentication"]["type"], "XMPP");
    assert_eq!(jicofo["jicofo"]["rest"]["host"], "127.0.0.1");

    // The operator's HOCON file is included last and wins.
    root.write(
        "/etc/meet-agent/jicofo.local.conf",
        "jicofo.rest.port = 9999\n",
    );
    assert_eq!(
        hocon(&root, "/etc/jitsi/jicofo/jicofo.conf")["jicofo"]["rest"]["port"],
        9999
    );

    // A new public address is picked up at the next run.
    root.config("50-ip.toml", "[server]\npublic_ipv4 = \"198.51.100.9\"\n");
    root.run(&["run"]);
    let conf = read(&root, "/etc/jitsi/videobridge/jvb.conf");
    assert!(!conf.contains("203.0.113.7"), "{conf}");
}

#[test]
fn config_js_carries_the_quality_settings() {
    let root = site(
        "0123456789abcdef0123456789abcdef",
        "[jitsi]\nlobby = false\ne2ee = false\n[jitsi.quality]\nopus_max_average_bitrate = 128000\nstereo = true\n\
         audio_processing = false\nmax_resolution = 1080\ncodec_preference = [\"vp9\", \"H264\"]\nsimulcast = false\n",
    );
    root.write(
        "/etc/meet-agent/config.local.js",
        "config.startWithAudioMuted = true;\n",
    );
    let out = root.run(&["run"]);
    assert_eq!(root.step("jitsi")["state"], "ok", "{}", text(&out));
    let c = config_js(&root);
    assert_eq!(c["hosts"]["domain"], DOMAIN);
    assert_eq!(c["hosts"]["muc"], format!("conference.{DOMAIN}"));
    assert_eq!(c["websocket"], format!("wss://{DOMAIN}/xmpp-websocket"));
    assert_eq!(c["audioQuality"]["opusMaxAverageBitrate"], 128000);
    assert_eq!(c["audioQuality"]["stereo"], true);
    for key in ["disableAP", "disableAEC", "disableNS", "disableAGC"] {
        assert_eq!(c[key], true, "{key}");
    }
    assert_eq!(c["resolution"], 1080);
    // docker-jitsi-meet's default since 403d6188 (issue 19 item 8).
    assert_eq!(c["virtualBackground"]["enableV2"], true);
    assert_eq!(c["constraints"]["video"]["height"]["max"], 1080);
    assert_eq!(c["constraints"]["video"]["width"]["max"], 1920);
    assert_eq!(
        c["videoQuality"]["codecPreferenceOrder"],
        serde_json::json!(["VP9", "H264"])
    );
    assert_eq!(
        c["p2p"]["codecPreferenceOrder"],
        serde_json::json!(["VP9", "H264"])
    );
    // Peer-to-peer stays on (lib-jitsi-meet needs p2p.enabled) and asks this server's STUN.
    assert_eq!(c["p2p"]["enabled"], true);
    assert_eq!(
        c["p2p"]["stunServers"],
        serde_json::json!([{ "urls": format!("stun:{DOMAIN}:3478") }])
    );
    assert_eq!(c["disableSimulcast"], true);
    assert_eq!(c["securityUi"]["hideLobbyButton"], true);
    assert_eq!(c["e2ee"]["disabled"], true);
    assert_eq!(c["prejoinConfig"]["enabled"], true);
    assert_eq!(c["bridgeChannel"]["preferSctp"], true);
    // Keys nothing reads any more (lib-jitsi-meet 2026) or that are deprecated.
    for key in ["disableHPF", "hideLobbyButton", "testing"] {
        assert!(c.get(key).is_none(), "{key}: {c:#}");
    }
    assert_eq!(c["startWithAudioMuted"], true, "the local file is appended");

    // Defaults: Jitsi's own bitrate, audio processing on, 720p, simulcast.
    let plain = site("fedcba9876543210fedcba9876543210", "");
    plain.run(&["run"]);
    let d = config_js(&plain);
    assert!(d["audioQuality"].get("opusMaxAverageBitrate").is_none());
    assert_eq!(d["disableAP"], false);
    assert_eq!(d["resolution"], 720);
    assert_eq!(d["disableSimulcast"], false);
    assert_eq!(d["securityUi"]["hideLobbyButton"], false);
    assert_eq!(d["e2ee"]["disabled"], false);
}

#[test]
fn on_a_lan_the_bridge_does_not_require_a_public_address() {
    // No public address configured or discovered: no mapping, so the bridge's health check
    // must not insist on a public one (else jicofo drops the only bridge).
    let root = Root::new();
    root.write("/etc/machine-id", "0123456789abcdef0123456789abcdef\n");
    root.config(
        "00.toml",
        &format!("[source]\nprovider = \"none\"\n[server]\ndomain = \"{DOMAIN}\"\n"),
    );
    let out = root.run(&["run"]);
    assert_eq!(root.step("jitsi")["state"], "ok", "{}", text(&out));
    let jvb = hocon(&root, "/etc/jitsi/videobridge/jvb.conf");
    assert_eq!(
        jvb["ice4j"]["harvest"]["mapping"]["static-mappings"],
        serde_json::json!([])
    );
    assert_eq!(
        jvb["videobridge"]["health"]["require-valid-address"], false,
        "{jvb:#}"
    );
}

#[test]
fn out_of_range_quality_and_tuning_values_name_the_key_and_the_range() {
    for (toml, key, range) in [
        (
            "[jitsi.quality]\nmax_resolution = 2160\n",
            "jitsi.quality.max_resolution",
            "180 to 1080",
        ),
        (
            "[jitsi.quality]\nopus_max_average_bitrate = 600000\n",
            "jitsi.quality.opus_max_average_bitrate",
            "6000 to 510000",
        ),
        (
            "[jitsi.quality]\ncodec_preference = [\"H265\"]\n",
            "jitsi.quality.codec_preference",
            "VP8, VP9, H264 or AV1",
        ),
        (
            "[tune]\nvideobridge_heap_mib = 100\n",
            "tune.videobridge_heap_mib",
            "256 to 65536",
        ),
        (
            "[tune]\nudp_buffer_bytes = 10\n",
            "tune.udp_buffer_bytes",
            "212992 to",
        ),
        (
            "[jitsi.turn]\ntls_host = \"meet.example.test\"\n",
            "jitsi.turn.tls_host",
            "second name",
        ),
        (
            "[jitsi.turn]\ntls_host = \"turn.meet.example.test\"\ntls_port = 4445\n",
            "jitsi.turn.tls_port",
            "which nginx takes",
        ),
        (
            "[jitsi.turn]\ntls_host = \"turn.meet.example.test\"\nport = 443\n",
            "jitsi.turn.port",
            "which nginx takes",
        ),
    ] {
        let root = site("0123456789abcdef0123456789abcdef", "");
        root.config("50-bad.toml", toml);
        let out = root.run(&["config", "check"]);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "{toml}: {said}");
        assert!(
            said.contains("50-bad.toml") && said.contains(key) && said.contains(range),
            "{toml}: {said}"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "one sentence: {said}");
    }
}

#[test]
fn two_instances_render_no_common_secret() {
    let files = [
        "/etc/turnserver.conf",
        "/etc/prosody/conf.d/ryo-jitsi.cfg.lua",
        "/etc/jitsi/jicofo/jicofo.conf",
        "/etc/jitsi/videobridge/jvb.conf",
    ];
    let roots = [
        site(
            "11111111111111111111111111111111",
            "[jitsi]\nauth = \"jwt\"\njwt_app_id = \"app\"\n",
        ),
        site(
            "22222222222222222222222222222222",
            "[jitsi]\nauth = \"jwt\"\njwt_app_id = \"app\"\n",
        ),
    ];
    let rendered: Vec<String> = roots
        .iter()
        .map(|r| {
            // As on the real image: JWT's token plugin comes with Jitsi's prosody plugins.
            r.write(
                &format!(
                    "{}/mod_stand_in.lua",
                    meet_agent::jitsi::prosody::JITSI_PLUGINS
                ),
                "-- stand-in for Jitsi's prosody plugins\n",
            );
            r.run(&["run"]);
            files
                .iter()
                .map(|f| read(r, f))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    for (i, root) in roots.iter().enumerate() {
        let s = secrets(root);
        for key in [
            "focus_password",
            "jvb_password",
            "turn_secret",
            "jwt_app_secret",
        ] {
            let value = s[key].as_str().unwrap();
            assert!(
                rendered[i].contains(value),
                "{key} is used by its own instance"
            );
            assert!(
                !rendered[1 - i].contains(value),
                "{key} shared between instances"
            );
        }
    }
}

/// A stand-in for prosody's HTTP port (BOSH, websocket, room-info). A websocket upgrade
/// (`Upgrade: websocket`, `Connection: upgrade`) is answered `101 Switching Protocols`;
/// anything else `200` with `bosh stand-in: REQUEST LINE`. Each answer carries the
/// `X-Forwarded-For` it was sent as `X-Standin-Forwarded-For`.
fn prosody_standin() -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut reader = BufReader::new(conn);
            let mut request = String::new();
            let mut headers = Vec::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if line.trim().is_empty() => break,
                    Ok(_) => headers.push(line.trim().to_ascii_lowercase()),
                }
            }
            let header = |name: &str| {
                headers
                    .iter()
                    .find_map(|h| h.strip_prefix(&format!("{name}:")))
                    .map(|v| v.trim().to_string())
                    .unwrap_or_default()
            };
            let forwarded = header("x-forwarded-for");
            let mut conn = reader.into_inner();
            let _ = if header("upgrade") == "websocket" && header("connection").contains("upgrade")
            {
                write!(
                    conn,
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                     X-Standin-Forwarded-For: {forwarded}\r\n\r\n"
                )
            } else {
                let body = format!("bosh stand-in: {}", request.trim());
                write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                     X-Standin-Forwarded-For: {forwarded}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            };
        }
    });
    port
}

fn serve(root: &Root, stream: bool) -> Served {
    site::serve(root, stream, prosody_standin())
}

fn curl(port: u16, ca: &std::path::Path, path: &str) -> String {
    site::curl(DOMAIN, port, ca, path, &["-i"])
}

fn supplied(root: &Root, ca: &TestCa, names: &[&str]) {
    let leaf = ca.leaf(names);
    root.config(
        "10-tls.toml",
        &format!(
            "[tls]\ncertificate = '''{}'''\nkey = '''{}'''\n",
            ca.chain(&leaf),
            leaf.key_pem
        ),
    );
}

#[test]
fn nginx_serves_the_rendered_site() {
    let root = site("0123456789abcdef0123456789abcdef", "");
    let ca = TestCa::new();
    supplied(&root, &ca, &[DOMAIN]);
    let out = root.run(&["run"]);
    assert_eq!(root.step("jitsi")["state"], "ok", "{}", text(&out));
    let ca_file = root.write("/tmp/ca.pem", &ca.root_pem);
    let served = serve(&root, false);
    let page = curl(served.https, &ca_file, "/");
    assert!(page.contains("ryo-jitsi placeholder"), "{page}");
    assert!(
        page.to_ascii_lowercase()
            .contains("strict-transport-security: max-age=63072000"),
        "{page}"
    );
    let config = curl(served.https, &ca_file, "/config.js");
    assert!(
        config.contains("var config = {") && config.contains("application/javascript"),
        "{config}"
    );
    let bosh = curl(served.https, &ca_file, "/http-bind");
    assert!(
        bosh.contains("bosh stand-in: POST /http-bind")
            || bosh.contains("bosh stand-in: GET /http-bind"),
        "{bosh}"
    );
    assert!(!root
        .join("/etc/nginx/modules-enabled/60-ryo-jitsi-turn.conf")
        .exists());
}

/// A STUN Binding request over TLS to `port` with SNI `name`; the answer's message type.
fn stun_over_tls(port: u16, name: &str, ca: &std::path::Path) -> String {
    let script = "import socket, ssl, os, struct, sys\n\
        port, name, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]\n\
        ctx = ssl.create_default_context(cafile=ca)\n\
        s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', port), timeout=10), server_hostname=name)\n\
        s.sendall(struct.pack('!HHI', 1, 0, 0x2112A442) + os.urandom(12))\n\
        head = s.recv(20)\n\
        print('type=%04x' % struct.unpack('!H', head[:2])[0] if len(head) >= 2 else 'no answer')\n";
    let out = Command::new("/usr/bin/python3")
        .args(["-c", script, &port.to_string(), name])
        .arg(ca)
        .output()
        .unwrap();
    text(&out)
}

#[test]
fn turn_over_tls_shares_port_443_by_name() {
    let tls_port = free_port();
    let root = site(
        "0123456789abcdef0123456789abcdef",
        &format!("[jitsi.turn]\nport = {}\ntls_port = {tls_port}\nlisten = [\"127.0.0.1\"]\ntls_host = \"{TURN_HOST}\"\n", free_port()),
    );
    let ca = TestCa::new();
    let ca_file = root.write("/tmp/ca.pem", &ca.root_pem);

    // Without nginx's stream module, the step says what to install and 443 stays the site's.
    supplied(&root, &ca, &[DOMAIN, TURN_HOST]);
    root.run(&["run"]);
    let jitsi = root.step("jitsi");
    assert_eq!(jitsi["state"], "degraded");
    assert!(
        jitsi["message"]
            .as_str()
            .unwrap()
            .contains("libnginx-mod-stream"),
        "{jitsi}"
    );

    // With it: the stream server owns 443, and prosody hands out turns:TURN_HOST:443.
    root.write(
        "/etc/nginx/modules-enabled/50-mod-stream.conf",
        "load_module modules/ngx_stream_module.so;\n",
    );
    // A certificate without the TURN name is reported.
    supplied(&root, &ca, &[DOMAIN]);
    root.run(&["run"]);
    let jitsi = root.step("jitsi");
    assert_eq!(jitsi["state"], "degraded");
    assert!(
        jitsi["message"]
            .as_str()
            .unwrap()
            .contains("does not serve jitsi.turn.tls_host"),
        "{jitsi}"
    );
    supplied(&root, &ca, &[DOMAIN, TURN_HOST]);
    let out = root.run(&["run"]);
    assert_eq!(root.step("jitsi")["state"], "ok", "{}", text(&out));
    let prosody = read(&root, "/etc/prosody/conf.d/ryo-jitsi.cfg.lua");
    assert!(
        prosody.contains(&format!("host = \"{TURN_HOST}\", port = 443")),
        "{prosody}"
    );

    let _turn = Turnserver::start(&root, tls_port);
    let served = serve(&root, true);
    // SNI = the TURN name: coturn answers the STUN Binding request (success 0x0101).
    let answer = stun_over_tls(served.https, TURN_HOST, &ca_file);
    assert!(answer.contains("type=0101"), "{answer}");
    // Any other name: the web site.
    let page = curl(served.https, &ca_file, "/config.js");
    assert!(page.contains("var config = {"), "{page}");
    // The site sees the client's own address through the stream server (PROXY protocol),
    // not the stream server's: prosody is told 127.0.0.2, where this client connects from.
    let bosh = site::curl(
        DOMAIN,
        served.https,
        &ca_file,
        "/http-bind",
        &["-i", "--interface", "127.0.0.2"],
    );
    assert!(
        bosh.to_ascii_lowercase()
            .contains("x-standin-forwarded-for: 127.0.0.2\r\n"),
        "{bosh}"
    );

    // Unset again: the stream file goes away.
    root.config("50-off.toml", "[jitsi.turn]\nlisten = [\"127.0.0.1\"]\n");
    std::fs::write(
        root.join("/etc/meet-agent/config.d/00.toml"),
        read(&root, "/etc/meet-agent/config.d/00.toml")
            .replace(&format!("tls_host = \"{TURN_HOST}\"\n"), ""),
    )
    .unwrap();
    root.run(&["run"]);
    assert!(!root
        .join("/etc/nginx/modules-enabled/60-ryo-jitsi-turn.conf")
        .exists());
}

/// A websocket upgrade of `/xmpp-websocket` over TLS (HTTP/1.1); the answer's head.
fn websocket_upgrade(port: u16, ca: &std::path::Path) -> String {
    let script = r#"
import socket, ssl, sys
port, name, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', port), timeout=10), server_hostname=name)
s.sendall(('GET /xmpp-websocket HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n'
           'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
           'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n' % name).encode())
head = b''
while b'\r\n\r\n' not in head:
    chunk = s.recv(4096)
    if not chunk:
        break
    head += chunk
print(head.decode(errors='replace'))
"#;
    let out = Command::new("/usr/bin/python3")
        .args(["-c", script, &port.to_string(), DOMAIN])
        .arg(ca)
        .output()
        .unwrap();
    text(&out)
}

/// The three server-side include lines of upstream's index.html (jitsi/jitsi-meet
/// index.html), which pull the site's config.js and the app's interface and logging
/// settings into the page.
const UPSTREAM_SSI_LINES: &str = "<script><!--#include virtual=\"/config.js\" --></script>\n\
    <script><!--#include virtual=\"/interface_config.js\" --></script>\n\
    <script><!--#include virtual=\"/logging_config.js\" --></script>\n";

#[test]
fn nginx_serves_the_web_app_with_config_js_pulled_into_its_page() {
    let root = site("0123456789abcdef0123456789abcdef", "");
    let ca = TestCa::new();
    supplied(&root, &ca, &[DOMAIN]);
    // Stand-ins for jitsi-meet-web's files: index.html carrying upstream's three include
    // lines, the two settings files it includes, one bundle, a WebAssembly module and a
    // sound.
    root.write(
        "/usr/share/jitsi-meet/index.html",
        format!(
            "<html><head>\n{UPSTREAM_SSI_LINES}</head><body>index.html stand-in</body></html>\n"
        ),
    );
    root.write(
        "/usr/share/jitsi-meet/interface_config.js",
        "var interfaceConfig = { APP_NAME: 'interface_config.js stand-in' };\n",
    );
    root.write(
        "/usr/share/jitsi-meet/logging_config.js",
        "var loggingConfig = { comment: 'logging_config.js stand-in' };\n",
    );
    root.write(
        "/usr/share/jitsi-meet/libs/app.bundle.min.js",
        "// bundle\n",
    );
    root.write(
        "/usr/share/jitsi-meet/libs/rnnoise.wasm",
        b"\0asm\x01\0\0\0",
    );
    root.write("/usr/share/jitsi-meet/sounds/ring.wav", b"RIFF\0\0\0\0WAVE");
    let out = root.run(&["run"]);
    assert_eq!(root.step("jitsi")["state"], "ok", "{}", text(&out));
    let rendered = read(&root, &format!("/etc/jitsi/meet/{DOMAIN}-config.js"));
    let ca_file = root.write("/tmp/ca.pem", &ca.root_pem);
    let served = serve(&root, false);

    // A room name is the web app's page, with config.js and the two settings files inline.
    let room = curl(served.https, &ca_file, "/WeeklyStandup");
    assert!(room.contains("index.html stand-in"), "{room}");
    assert!(
        room.contains(rendered.trim()),
        "config.js is not inline: {room}"
    );
    assert!(room.contains("\"preferSctp\": true"), "{room}");
    assert!(room.contains("interface_config.js stand-in"), "{room}");
    assert!(room.contains("logging_config.js stand-in"), "{room}");
    assert!(
        !room.contains("<!--#include"),
        "an include was not processed: {room}"
    );
    assert!(
        room.to_ascii_lowercase()
            .contains("strict-transport-security: max-age=63072000"),
        "{room}"
    );
    // The front page too.
    let front = curl(served.https, &ca_file, "/");
    assert!(front.contains("\"preferSctp\": true"), "{front}");

    // Static files come from the app's folders with CORS (and HSTS kept), in their types.
    let bundle = curl(served.https, &ca_file, "/libs/app.bundle.min.js");
    let lower = bundle.to_ascii_lowercase();
    assert!(
        bundle.contains("// bundle")
            && lower.contains("access-control-allow-origin: *")
            && lower.contains("strict-transport-security: max-age=63072000"),
        "{bundle}"
    );
    let wasm = curl(served.https, &ca_file, "/libs/rnnoise.wasm").to_ascii_lowercase();
    assert!(wasm.contains("content-type: application/wasm"), "{wasm}");
    let wav = curl(served.https, &ca_file, "/sounds/ring.wav").to_ascii_lowercase();
    assert!(wav.contains("content-type: audio/wav"), "{wav}");

    // The XMPP websocket is upgraded through nginx, with the client's address forwarded.
    let upgrade = websocket_upgrade(served.https, &ca_file);
    let lower = upgrade.to_ascii_lowercase();
    assert!(
        upgrade.contains("HTTP/1.1 101 Switching Protocols"),
        "{upgrade}"
    );
    assert!(
        lower.contains("upgrade: websocket")
            && lower.contains("x-standin-forwarded-for: 127.0.0.1"),
        "{upgrade}"
    );
    // Room info goes to prosody's room-info endpoint.
    let info = curl(served.https, &ca_file, "/_api/room-info?room=weeklystandup");
    assert!(
        info.contains("bosh stand-in: GET /room-info?prefix=&room=weeklystandup"),
        "{info}"
    );
    // No bridge websocket any more: the bridge channel is SCTP.
    let colibri = curl(served.https, &ca_file, "/colibri-ws/default-id/x");
    assert!(!colibri.contains("stand-in"), "{colibri}");
}

/// The dial-in PIN service's per-client key, computed by Debian's nginx from the rendered
/// map for addresses in every compressed form nginx prints: an IPv6 client is its /64 (the
/// first four groups written out), an IPv4 client its address. The addresses reach the
/// map through nginx's realip module (X-Real-IP from 127.0.0.1), which prints them as it
/// prints a connection's.
#[test]
fn the_pin_limits_count_an_ipv6_client_by_its_64() {
    let root = site(
        "0123456789abcdef0123456789abcdef",
        "[sip]\nserver = \"sip.provider.example\"\nusername = \"meet\"\npassword = \"pw\"\n\
         [sip.dial_in_numbers]\nUS = [\"+1 555 0100\"]\n",
    );
    let ca = TestCa::new();
    supplied(&root, &ca, &[DOMAIN]);
    let out = root.run(&["run"]);
    assert_eq!(root.step("jitsi")["state"], "ok", "{}", text(&out));
    let rendered = read(&root, "/etc/nginx/sites-available/ryo-jitsi.conf");
    let start = rendered
        .find("map $remote_addr $ryo_mapper_client {")
        .unwrap_or_else(|| panic!("no client map in {rendered}"));
    let map = &rendered[start..start + rendered[start..].find("\n}\n").unwrap() + 3];
    let port = free_port();
    let servers = format!(
        "{map}\nserver {{\n    listen 127.0.0.1:{port};\n    set_real_ip_from 127.0.0.1;\n    \
         real_ip_header X-Real-IP;\n    location / {{\n        \
         return 200 \"$ryo_mapper_client\";\n    }}\n}}\n"
    );
    let _nginx = common::Nginx::start(&root.join("/tmp/nginx-map"), &servers, port);
    let key = |address: &str| {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "10", "-H"])
            .arg(format!("X-Real-IP: {address}"))
            .arg(format!("http://127.0.0.1:{port}/"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        out.stdout
    };
    for (address, prefix) in [
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2"),
        ("2001:db8:1:2::6", "2001:db8:1:2"),
        ("2001:db8:1::5", "2001:db8:1:0"),
        ("2001:db8:1:0:5:6:7:8", "2001:db8:1:0"),
        ("2001:db8::1", "2001:db8:0:0"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8:0:0"),
        ("2001::2:3:4:5:6", "2001:0:0:2"),
        ("2001::1", "2001:0:0:0"),
        ("::2:3:4:5:6:7", "0:0:2:3"),
        ("::3:4:5:6:7", "0:0:0:3"),
        ("::1", "0:0:0:0"),
    ] {
        assert_eq!(String::from_utf8_lossy(&key(address)), prefix, "{address}");
    }
    // IPv4, mapped or not: the address's bytes (nginx's $binary_remote_addr), one key each.
    assert_eq!(key("192.0.2.7"), vec![192, 0, 2, 7]);
    assert_ne!(key("192.0.2.7"), key("192.0.2.8"));
    let mapped = key("::ffff:192.0.2.7");
    assert_eq!(mapped.len(), 16, "{mapped:?}");
    assert_ne!(mapped, key("::ffff:192.0.2.8"));
}
