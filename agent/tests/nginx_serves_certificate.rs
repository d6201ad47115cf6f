//! The installed certificate works in a real nginx (Debian's, on 127.0.0.1) through the
//! snippet the image ships, and a client verifies the chain for the domain against the CA.

mod common;
use common::{free_port, text, Nginx, Root, TestCa};
use std::time::{Duration, Instant};

#[tokio::test]
async fn nginx_serves_the_supplied_certificate_and_it_verifies() {
    let ca = TestCa::new();
    let leaf = ca.leaf(&["meet.example.test"]);
    let root = Root::new();
    root.config(
        "00.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n",
    );
    root.config(
        "10.toml",
        &format!(
            "[tls]\ncertificate = '''{}'''\nkey = '''{}'''\n",
            ca.chain(&leaf),
            leaf.key_pem
        ),
    );
    let out = root.run(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // The shipped snippet, pointed at the fixture root.
    let snippet = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../image/files/etc/nginx/snippets/meet-agent-tls.conf"
    ))
    .unwrap()
    .replace(
        "/etc/meet-agent/",
        &format!("{}/etc/meet-agent/", root.path().display()),
    );
    let snippet_path = root.write("/nginx/meet-agent-tls.conf", snippet);
    let port = free_port();
    let prefix = root.join("/nginx");
    let nginx = Nginx::start(
        &prefix,
        &format!(
            "  server {{\n    listen 127.0.0.1:{port} ssl;\n    server_name meet.example.test;\n    include {};\n    location / {{ return 200 \"ryo-jitsi\\n\"; }}\n  }}",
            snippet_path.display()
        ),
        port,
    );

    meet_agent::install_crypto_provider();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.root_pem.as_bytes()).unwrap()])
        .resolve("meet.example.test", ([127, 0, 0, 1], port).into())
        .no_proxy()
        .build()
        .unwrap();
    let url = format!("https://meet.example.test:{port}/");
    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        match client.get(&url).send().await {
            Ok(response) => break response.text().await.unwrap(),
            Err(e) if Instant::now() < deadline && e.is_connect() => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!(
                "HTTPS to nginx failed: {e:?}; nginx log: {}",
                std::fs::read_to_string(prefix.join("error.log")).unwrap_or_default()
            ),
        }
    };
    assert_eq!(body, "ryo-jitsi\n");

    // A client that trusts another CA must refuse it: the check above is a real one.
    let stranger = TestCa::new();
    let strict = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(stranger.root_pem.as_bytes()).unwrap()])
        .resolve("meet.example.test", ([127, 0, 0, 1], port).into())
        .no_proxy()
        .build()
        .unwrap();
    assert!(strict.get(&url).send().await.is_err());
    drop(nginx);
}
