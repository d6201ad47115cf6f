//! The rendered nginx site served by Debian's nginx on loopback ports, with its files moved
//! below the test root: shared by the tests that run the site (jitsi_render, jitsi_prosody).

use super::common::{free_port, text, Nginx, Root};
use std::process::Command;

/// The rendered site and stream server moved onto loopback ports and the test root.
pub struct Served {
    /// nginx, stopped when dropped.
    pub _nginx: Nginx,
    /// Its HTTPS port on 127.0.0.1.
    pub https: u16,
}

/// `text` with `ports` replaced and the machine's folders moved below the test root.
///
/// In two passes, through markers no text contains: replaced one after another, a free port
/// put in for one pattern could begin another (`127.0.0.1:4444` became `127.0.0.1:44451`,
/// whose `127.0.0.1:4445` the next pattern then turned into `127.0.0.1:429931`, a failure
/// seen once in the suite, 2026-12-06).
pub fn moved(root: &Root, text: &str, ports: &[(&str, String)]) -> String {
    let marker = |i: usize| format!("\u{0}port {i}\u{0}");
    let mut out = text.to_string();
    for (i, (from, _)) in ports.iter().enumerate() {
        out = out.replace(from, &marker(i));
    }
    for (i, (_, to)) in ports.iter().enumerate() {
        out = out.replace(&marker(i), to);
    }
    for dir in [
        "/etc/meet-agent/tls",
        "/var/lib/meet-agent",
        "/usr/share/ryo-jitsi",
        "/usr/share/jitsi-meet",
        "/etc/jitsi/meet",
        "/etc/nginx/snippets",
    ] {
        out = out.replace(dir, &root.join(dir).display().to_string());
    }
    out
}

/// Serves the site the agent rendered below `root` (and, with `stream`, TURN's stream
/// server on 443) on loopback ports, proxying prosody's HTTP to `prosody_http`; fails the
/// test on any warning of `nginx -t`.
pub fn serve(root: &Root, stream: bool, prosody_http: u16) -> Served {
    let snippet = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../image/files/etc/nginx/snippets/meet-agent-tls.conf"
    ))
    .unwrap();
    root.write(
        "/etc/nginx/snippets/meet-agent-tls.conf",
        moved(root, &snippet, &[]),
    );
    root.write(
        "/usr/share/ryo-jitsi/www/index.html",
        "ryo-jitsi placeholder\n",
    );
    let (http, https, web) = (free_port(), free_port(), free_port());
    let ports = [
        ("listen [::]:80 default_server;", String::new()),
        ("listen [::]:443 ssl http2 default_server;", String::new()),
        ("listen [::]:443;", String::new()),
        (
            "listen 80 default_server;",
            format!("listen 127.0.0.1:{http};"),
        ),
        (
            "listen 443 ssl http2 default_server;",
            format!("listen 127.0.0.1:{https} ssl http2;"),
        ),
        ("listen 443;", format!("listen 127.0.0.1:{https};")),
        ("127.0.0.1:4444", format!("127.0.0.1:{web}")),
        ("127.0.0.1:4445", format!("127.0.0.1:{}", free_port())),
        ("127.0.0.1:5280", format!("127.0.0.1:{prosody_http}")),
    ];
    // Debian's nginx.conf includes the type table in its http block before the sites.
    let site = format!(
        "include /etc/nginx/mime.types;\n{}",
        moved(
            root,
            &std::fs::read_to_string(root.join("/etc/nginx/sites-available/ryo-jitsi.conf"))
                .unwrap(),
            &ports,
        )
    );
    let main = if stream {
        format!(
            "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n{}",
            moved(
                root,
                &std::fs::read_to_string(
                    root.join("/etc/nginx/modules-enabled/60-ryo-jitsi-turn.conf")
                )
                .unwrap(),
                &ports
            )
        )
    } else {
        String::new()
    };
    let prefix = root.join("/tmp/nginx");
    let conf = Nginx::write_conf(&prefix, &main, &site);
    let check = Command::new("nginx")
        .arg("-t")
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&conf)
        .output()
        .unwrap();
    assert!(check.status.success(), "nginx -t: {}", text(&check));
    // No warning either: no extension mapped twice, no deprecated parameter on this nginx.
    assert!(
        !String::from_utf8_lossy(&check.stderr).contains("[warn]"),
        "nginx -t: {}",
        text(&check)
    );
    Served {
        _nginx: Nginx::start_with(&prefix, &main, &site, https),
        https,
    }
}

/// `curl` of `https://domain:port{path}` on 127.0.0.1, verified against the CA file `ca`,
/// with `extra` arguments; its output (the test fails if curl does).
pub fn curl(domain: &str, port: u16, ca: &std::path::Path, path: &str, extra: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(extra)
        .arg("--cacert")
        .arg(ca)
        .args(["--resolve", &format!("{domain}:{port}:127.0.0.1")])
        .arg(format!("https://{domain}:{port}{path}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "curl {path}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
