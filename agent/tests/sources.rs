//! Instance sources against real local servers: an IMDSv2 stand-in on 127.0.0.1, a devlxd
//! stand-in on a Unix socket, and fixture folders for the config disk and fw_cfg.

mod common;
use common::{serve_tcp, serve_unix, text, Handler, Root};
use meet_agent::source::config_disk::ConfigDisk;
use meet_agent::source::ec2::{Ec2, Retry};
use meet_agent::source::fw_cfg::FwCfg;
use meet_agent::source::lxd::Lxd;
use meet_agent::source::InstanceSource;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "AQAEAtest-token==";

/// A stand-in for EC2's instance metadata service speaking the IMDSv2 token protocol:
/// reads without a valid token get 401, as the real service does with IMDSv2 required.
fn imds(values: HashMap<&'static str, Vec<u8>>, fail_with: Option<u16>) -> Handler {
    Arc::new(move |req, _body| {
        if let Some(code) = fail_with {
            return (code, b"internal error".to_vec());
        }
        let path = req.uri().path();
        if path == "/latest/api/token" {
            if req.method() != "PUT"
                || req
                    .headers()
                    .get("x-aws-ec2-metadata-token-ttl-seconds")
                    .is_none()
            {
                return (400, vec![]);
            }
            return (200, TOKEN.as_bytes().to_vec());
        }
        if req
            .headers()
            .get("x-aws-ec2-metadata-token")
            .map(|v| v.as_bytes())
            != Some(TOKEN.as_bytes())
        {
            return (401, vec![]);
        }
        match values.get(path) {
            Some(v) => (200, v.clone()),
            None => (404, b"Not Found".to_vec()),
        }
    })
}

fn quick() -> Retry {
    Retry {
        deadline: Duration::from_millis(600),
        backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(100),
        request_timeout: Duration::from_secs(2),
    }
}

fn ec2_values(user_data: Vec<u8>) -> HashMap<&'static str, Vec<u8>> {
    HashMap::from([
        (
            "/latest/meta-data/instance-id",
            b"i-0123456789abcdef0".to_vec(),
        ),
        ("/latest/meta-data/instance-type", b"c6i.xlarge".to_vec()),
        ("/latest/meta-data/public-ipv4", b"203.0.113.10".to_vec()),
        ("/latest/meta-data/local-ipv4", b"10.0.1.5".to_vec()),
        ("/latest/user-data", user_data),
    ])
}

#[tokio::test]
async fn ec2_reads_metadata_and_gzip_user_data_with_a_token() {
    meet_agent::install_crypto_provider();
    let toml = "[server]\ndomain = \"meet.example.org\"\n";
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(toml.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    let url = serve_tcp(imds(ec2_values(gz), None)).await;
    let data = Ec2::new(&url, quick()).fetch().await.unwrap();
    assert_eq!(data.provider, "ec2");
    assert_eq!(data.instance_id.as_deref(), Some("i-0123456789abcdef0"));
    assert_eq!(data.instance_type.as_deref(), Some("c6i.xlarge"));
    assert_eq!(data.public_ipv4, Some("203.0.113.10".parse().unwrap()));
    assert_eq!(data.local_ipv4, Some("10.0.1.5".parse().unwrap()));
    assert_eq!(data.ipv6, None, "404 means no IPv6");
    let config = data.config.unwrap();
    assert_eq!(config.text, toml);
    assert_eq!(config.origin, "EC2 user-data");
}

#[tokio::test]
async fn ec2_that_answers_500_is_a_clear_error() {
    meet_agent::install_crypto_provider();
    let url = serve_tcp(imds(HashMap::new(), Some(500))).await;
    let err = Ec2::new(&url, quick()).fetch().await.unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains(&url) && msg.contains("500") && msg.contains("/latest/api/token"),
        "{msg}"
    );
}

#[tokio::test]
async fn ec2_that_is_not_there_gives_up_at_the_deadline() {
    meet_agent::install_crypto_provider();
    // A port nobody listens on (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = std::time::Instant::now();
    let err = Ec2::new(&format!("http://127.0.0.1:{port}"), quick())
        .fetch()
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(format!("{err:#}").contains("did not answer"), "{err:#}");
}

#[test]
fn ec2_user_data_that_is_not_toml_fails_the_run_naming_user_data() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let url = rt.block_on(serve_tcp(imds(
        ec2_values(b"#!/bin/bash\necho hi\n".to_vec()),
        None,
    )));
    let root = Root::new();
    root.config(
        "00-source.toml",
        &format!("[source]\nprovider = \"ec2\"\nec2_endpoint = \"{url}\"\ntimeout_seconds = 2\n"),
    );
    let out = root.run(&["config", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("EC2 user-data"),
        "{}",
        text(&out)
    );

    // `run` records it and still leaves a fallback certificate for the web server.
    let out = root.run(&["run"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(root.join("/etc/meet-agent/tls/fullchain.pem").exists());
    let (code, status) = root.status_json(&[]);
    assert_eq!(code, 2);
    assert_eq!(status["health"], "failed");
    assert!(status["run_error"]
        .as_str()
        .unwrap()
        .contains("EC2 user-data"));
}

#[test]
fn ec2_config_from_user_data_reaches_the_run_and_status() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let user_data = b"[server]\ndomain = \"meet.example.org\"\n".to_vec();
    let url = rt.block_on(serve_tcp(imds(ec2_values(user_data), None)));
    let root = Root::new();
    root.config(
        "00-source.toml",
        &format!("[source]\nprovider = \"ec2\"\nec2_endpoint = \"{url}\"\n"),
    );
    let out = root.run(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (_, status) = root.status_json(&[]);
    let id = &status["identity"];
    assert_eq!(id["domain"], "meet.example.org");
    assert_eq!(id["public_ipv4"], "203.0.113.10");
    assert_eq!(id["public_ipv4_source"], "ec2");
    assert_eq!(id["instance"]["instance_type"], "c6i.xlarge");
    assert_eq!(root.state()["instance_id"], "i-0123456789abcdef0");
}

/// A devlxd stand-in: the routes LXD's guest API serves on /dev/lxd/sock.
fn devlxd(config: Option<&'static str>, hits: Arc<AtomicUsize>) -> Handler {
    Arc::new(move |req, _| {
        hits.fetch_add(1, Ordering::SeqCst);
        assert_eq!(req.method(), "GET");
        match req.uri().path() {
            "/1.0" => (200, br#"{"api_version":"1.0","instance_type":"container","location":"none","state":"Started"}"#.to_vec()),
            // As LXD 5 serves it: the instance-id is a UUID.
            "/1.0/meta-data" => (200, b"#cloud-config\ninstance-id: 61147b7c-bc70-40aa-b227-aa9aa0866da4\nlocal-hostname: meet1\n".to_vec()),
            "/1.0/devices" => (200, br#"{"eth0":{"type":"nic","network":"lxdbr0","ipv4.address":"10.10.0.20"},"root":{"type":"disk","path":"/"}}"#.to_vec()),
            "/1.0/config/user.meet-agent.config" => match config {
                Some(c) => (200, c.as_bytes().to_vec()),
                None => (404, br#"{"error":"not found"}"#.to_vec()),
            },
            _ => (404, vec![]),
        }
    })
}

#[tokio::test]
async fn lxd_reads_config_key_and_addresses_over_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("dev/lxd/sock");
    let hits = Arc::new(AtomicUsize::new(0));
    serve_unix(
        &sock,
        devlxd(
            Some("[server]\ndomain = \"meet.example.org\"\n"),
            hits.clone(),
        ),
    )
    .await;
    let data = Lxd::new(sock, Duration::from_secs(2))
        .fetch()
        .await
        .unwrap();
    assert!(hits.load(Ordering::SeqCst) >= 4);
    assert_eq!(data.provider, "lxd");
    assert_eq!(
        data.instance_id.as_deref(),
        Some("61147b7c-bc70-40aa-b227-aa9aa0866da4")
    );
    assert_eq!(data.instance_type.as_deref(), Some("container"));
    assert_eq!(data.local_ipv4, Some("10.10.0.20".parse().unwrap()));
    assert_eq!(data.config.unwrap().origin, "LXD user.meet-agent.config");
}

#[tokio::test]
async fn lxd_without_config_key_is_fine_and_dead_socket_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("sock");
    serve_unix(&sock, devlxd(None, Arc::new(AtomicUsize::new(0)))).await;
    let data = Lxd::new(sock, Duration::from_secs(2))
        .fetch()
        .await
        .unwrap();
    assert!(data.config.is_none());

    let dead = dir.path().join("dead.sock");
    std::fs::write(&dead, b"").unwrap();
    let err = Lxd::new(dead.clone(), Duration::from_secs(2))
        .fetch()
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains(&dead.display().to_string()),
        "{err:#}"
    );
}

#[test]
fn auto_detects_lxd_by_its_socket() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let root = Root::new();
    rt.block_on(serve_unix(
        &root.join("/dev/lxd/sock"),
        devlxd(
            Some("[server]\ndomain = \"lxd.example.org\"\n"),
            Arc::new(AtomicUsize::new(0)),
        ),
    ));
    let out = root.run(&["config", "show"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("lxd.example.org"));
    let out = root.run(&["config", "check"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("instance source: lxd"),
        "{}",
        text(&out)
    );
}

#[tokio::test]
async fn config_disk_prefers_meet_agent_toml_and_reads_instance_id() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("user-data"), "#cloud-config\n").unwrap();
    std::fs::write(
        dir.path().join("meet-agent.toml"),
        "[server]\ndomain = \"disk.example.org\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("meta-data"), "instance-id: iid-disk-1\n").unwrap();
    let data = ConfigDisk::from_folder(dir.path().into())
        .fetch()
        .await
        .unwrap();
    assert_eq!(data.instance_id.as_deref(), Some("iid-disk-1"));
    let config = data.config.unwrap();
    assert_eq!(config.origin, "config disk meet-agent.toml");
    assert!(config.text.contains("disk.example.org"));

    std::fs::remove_file(dir.path().join("meet-agent.toml")).unwrap();
    let data = ConfigDisk::from_folder(dir.path().into())
        .fetch()
        .await
        .unwrap();
    assert_eq!(data.config.unwrap().origin, "config disk user-data");
}

#[tokio::test]
async fn fw_cfg_reads_the_entry_and_rejects_binary() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    std::fs::write(&raw, "[server]\ndomain = \"qemu.example.org\"\n").unwrap();
    let data = FwCfg::new(raw.clone()).fetch().await.unwrap();
    assert_eq!(data.provider, "fw-cfg");
    assert!(data.config.unwrap().text.contains("qemu.example.org"));

    std::fs::write(&raw, [0xffu8, 0xfe, 0x00]).unwrap();
    let err = FwCfg::new(raw).fetch().await.unwrap_err();
    assert!(format!("{err:#}").contains("not UTF-8"), "{err:#}");
}

#[test]
fn auto_detects_fw_cfg_and_explicit_config_disk_without_disk_is_an_error() {
    let root = Root::new();
    root.write(
        meet_agent::source::fw_cfg::ENTRY,
        "[server]\ndomain = \"qemu.example.org\"\n",
    );
    let out = root.run(&["config", "check"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("instance source: fw-cfg"),
        "{}",
        text(&out)
    );

    root.config("00-source.toml", "[source]\nprovider = \"config-disk\"\n");
    let out = root.run(&["config", "check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no disk labelled cidata"),
        "{}",
        text(&out)
    );
}
