//! Instance sources against real local servers: an IMDSv2 stand-in and a Compute Engine
//! metadata stand-in on 127.0.0.1, a devlxd stand-in on a Unix socket, and fixture folders
//! for the config disk and fw_cfg.

mod common;
use common::{
    imds_standin, serve_tcp, serve_tcp_with_headers, serve_unix, text, Handler, HeadersHandler,
    Root,
};
use meet_agent::retry::Retry;
use meet_agent::source::config_disk::ConfigDisk;
use meet_agent::source::ec2::Ec2;
use meet_agent::source::fw_cfg::FwCfg;
use meet_agent::source::gce::Gce;
use meet_agent::source::lxd::Lxd;
use meet_agent::source::InstanceSource;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn quick() -> Retry {
    Retry {
        deadline: Duration::from_millis(600),
        backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(100),
        request_timeout: Duration::from_secs(2),
        max_attempts: u32::MAX,
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
        ("/latest/meta-data/placement/region", b"eu-west-3".to_vec()),
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
    let url = serve_tcp(imds_standin(ec2_values(gz), None, None)).await;
    let data = Ec2::new(&url, quick()).fetch().await.unwrap();
    assert_eq!(data.provider, "ec2");
    assert_eq!(data.instance_id.as_deref(), Some("i-0123456789abcdef0"));
    assert_eq!(data.instance_type.as_deref(), Some("c6i.xlarge"));
    assert_eq!(data.public_ipv4, Some("203.0.113.10".parse().unwrap()));
    assert_eq!(data.local_ipv4, Some("10.0.1.5".parse().unwrap()));
    assert_eq!(data.ipv6, None, "404 means no IPv6");
    assert_eq!(data.region.as_deref(), Some("eu-west-3"));
    assert_eq!(data.key_pair, None, "404 means no key pair");
    assert_eq!(data.user_data_note, None);
    let config = data.config.unwrap();
    assert_eq!(config.text, toml);
    assert_eq!(config.origin, "EC2 user-data");
}

#[tokio::test]
async fn ec2_that_answers_500_is_a_clear_error() {
    meet_agent::install_crypto_provider();
    let url = serve_tcp(imds_standin(HashMap::new(), Some(500), None)).await;
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
fn ec2_user_data_that_is_neither_ours_nor_cloud_inits_fails_the_run_naming_user_data() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    // Binary that is no format cloud-init knows, nor text: a mistake, shown as one.
    let url = rt.block_on(serve_tcp(imds_standin(
        ec2_values(vec![0xff, 0xfe, 0x00, 0x01]),
        None,
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
    let url = rt.block_on(serve_tcp(imds_standin(ec2_values(user_data), None, None)));
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
    assert!(data.config.is_none(), "#cloud-config is cloud-init's");
    std::fs::write(
        dir.path().join("user-data"),
        "[server]\ndomain = \"disk.example.org\"\n",
    )
    .unwrap();
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

/// A `#cloud-config` that writes our drop-in, as cloud-init's users hand it over.
const CLOUD_CONFIG: &str = "#cloud-config\nwrite_files:\n  - path: /etc/meet-agent/config.d/50-site.toml\n    content: |\n      [server]\n      domain = \"meet.example.org\"\n";

/// MIME multipart user-data as cloud-init's `make-mime` writes it: a cloud-config part and
/// our part, base64-encoded as Python's email package does for UTF-8 text.
fn mime_user_data(our_toml: &str) -> Vec<u8> {
    use base64::Engine;
    let ours = base64::engine::general_purpose::STANDARD.encode(our_toml);
    format!(
        "Content-Type: multipart/mixed; boundary=\"===============0035287898381899620==\"\r\n\
         MIME-Version: 1.0\r\n\r\n\
         --===============0035287898381899620==\r\n\
         Content-Type: text/cloud-config; charset=\"us-ascii\"\r\n\
         MIME-Version: 1.0\r\nContent-Transfer-Encoding: 7bit\r\n\
         Content-Disposition: attachment; filename=\"cloud.yaml\"\r\n\r\n\
         #cloud-config\r\npackages: [htop]\r\n\r\n\
         --===============0035287898381899620==\r\n\
         Content-Type: text/x-meet-agent; charset=\"utf-8\"\r\n\
         MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"site.toml\"\r\n\r\n\
         {ours}\r\n\r\n\
         --===============0035287898381899620==--\r\n"
    )
    .into_bytes()
}

/// A root whose local drop-in points the agent at the IMDS stand-in at `url`.
fn ec2_root(url: &str, local: &str) -> Root {
    let root = Root::new();
    root.config(
        "00-source.toml",
        &format!(
            "[source]\nprovider = \"ec2\"\nec2_endpoint = \"{url}\"\ntimeout_seconds = 2\n{local}"
        ),
    );
    root
}

#[test]
fn ec2_cloud_config_and_scripts_are_left_to_cloud_init_and_status_says_so() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    for (user_data, kind) in [
        (CLOUD_CONFIG.as_bytes().to_vec(), "#cloud-config"),
        (b"#!/bin/bash\necho hi\n".to_vec(), "#!"),
        (b"#include\nhttps://example.org/more\n".to_vec(), "#include"),
        (b"#cloud-boothook\n#!/bin/sh\n".to_vec(), "#cloud-boothook"),
    ] {
        let url = rt.block_on(serve_tcp(imds_standin(ec2_values(user_data), None, None)));
        // cloud-init's write_files put the domain into a drop-in before we run.
        let root = ec2_root(&url, "[server]\ndomain = \"meet.example.org\"\n");
        let out = root.run(&["config", "check"]);
        assert!(out.status.success(), "{kind}: {}", text(&out));
        let out = root.run(&["run"]);
        assert_eq!(out.status.code(), Some(0), "{kind}: {}", text(&out));
        let note = format!("EC2 user-data is cloud-init's ({kind}); meet-agent left it alone");
        let message = root.message("identity");
        assert!(
            message.ends_with(&format!(
                "{note} (cloud-init is not installed here, so nothing acts on it)"
            )),
            "{message}"
        );
        let (_, status) = root.status_json(&[]);
        assert_eq!(
            status["identity"]["instance"]["user_data_note"],
            note.as_str()
        );
        assert_eq!(status["identity"]["domain"], "meet.example.org");

        // On an image with cloud-init the note stands alone.
        root.write("/usr/bin/cloud-init", "#!/usr/bin/python3\n");
        let out = root.run(&["run"]);
        assert_eq!(out.status.code(), Some(0), "{kind}: {}", text(&out));
        assert!(
            root.message("identity").ends_with(&note),
            "{}",
            root.message("identity")
        );
    }
}

#[test]
fn ec2_mime_user_data_gives_our_part_and_leaves_the_rest_to_cloud_init() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let user_data = mime_user_data("[server]\ndomain = \"mime.example.org\"\n");
    let url = rt.block_on(serve_tcp(imds_standin(ec2_values(user_data), None, None)));
    let root = ec2_root(&url, "");
    let out = root.run(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (_, status) = root.status_json(&[]);
    assert_eq!(status["identity"]["domain"], "mime.example.org");
    assert!(
        root.message("identity").contains(
            "EC2 user-data is MIME multipart: meet-agent read its text/x-meet-agent part and left text/cloud-config to cloud-init"
        ),
        "{}",
        root.message("identity")
    );

    // Our part, broken: an error naming the part, never a silent fallback.
    let user_data = mime_user_data("[server]\ndomain = \"mime.example.org\"\n")
        .into_iter()
        .map(|b| if b == b'W' { b'!' } else { b })
        .collect();
    let url = rt.block_on(serve_tcp(imds_standin(ec2_values(user_data), None, None)));
    let out = ec2_root(&url, "").run(&["config", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("EC2 user-data part text/x-meet-agent: Content-Transfer-Encoding is base64 but the body is not"),
        "{}",
        text(&out)
    );
}

// A real ed25519 public key (made with ssh-keygen for these tests).
const ED25519: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMa0tGi/fmhJkD1Ti3p6MlTw0sywZQmBQ4kyYWYBkVA1";
const AUTHORIZED: &str = "/etc/meet-agent/ssh/authorized_keys.root";

#[test]
fn ec2_key_pair_logs_in_as_root_only_on_an_image_without_cloud_init() {
    meet_agent::install_crypto_provider();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let mut values = ec2_values(b"[server]\ndomain = \"meet.example.org\"\n".to_vec());
    values.insert(
        "/latest/meta-data/public-keys/0/openssh-key",
        format!("{ED25519} my-launch-key\n").into_bytes(),
    );
    let url = rt.block_on(serve_tcp(imds_standin(values, None, None)));
    let data = rt.block_on(Ec2::new(&url, quick()).fetch()).unwrap();
    assert_eq!(data.key_pair, Some(format!("{ED25519} my-launch-key")));

    let root = ec2_root(&url, "");
    root.write(
        "/etc/ssh/sshd_config.d/50-ryo-jitsi.conf",
        "AuthorizedKeysFile .ssh/authorized_keys /etc/meet-agent/ssh/authorized_keys.%u\n",
    );
    let out = root.run(&["run", "--step", "access"]);
    assert!(out.status.success(), "{}", text(&out));
    let file = std::fs::read_to_string(root.join(AUTHORIZED)).unwrap();
    assert!(
        file.contains(&format!("\n{ED25519} my-launch-key\n")),
        "{file}"
    );
    let message = root.message("access");
    assert!(
        message.starts_with("1 SSH key may log in as root: SHA256:")
            && message.ends_with("(my-launch-key, from the EC2 key pair)"),
        "{message}"
    );
    assert_eq!(root.step("access")["state"], "ok");

    // Beside the configured keys; listed once when it is also configured.
    root.config(
        "10-access.toml",
        &format!("[access]\nssh_authorized_keys = [\"{ED25519} my-launch-key\"]\n"),
    );
    let out = root.run(&["run", "--step", "access"]);
    assert!(out.status.success(), "{}", text(&out));
    let file = std::fs::read_to_string(root.join(AUTHORIZED)).unwrap();
    assert_eq!(file.matches(ED25519).count(), 1, "{file}");
    assert!(root
        .message("access")
        .contains("the EC2 key pair is among access.ssh_authorized_keys"));
    std::fs::remove_file(root.join("/etc/meet-agent/config.d/10-access.toml")).unwrap();

    // With cloud-init installed the key is cloud-init's to install: our file goes.
    root.write("/usr/bin/cloud-init", "#!/usr/bin/python3\n");
    let out = root.run(&["run", "--step", "access"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!root.join(AUTHORIZED).exists());
    assert!(
        root.message("access").ends_with(
            "the EC2 key pair is left to cloud-init, which gives it to the image's default user"
        ),
        "{}",
        root.message("access")
    );
    assert_eq!(root.step("access")["state"], "not-configured");
}

#[test]
fn ec2_key_pair_that_is_not_a_key_is_refused_and_shown() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let mut values = ec2_values(b"[server]\ndomain = \"meet.example.org\"\n".to_vec());
    values.insert(
        "/latest/meta-data/public-keys/0/openssh-key",
        b"command=\"/bin/sh\" ssh-ed25519 AAAA x\n".to_vec(),
    );
    let url = rt.block_on(serve_tcp(imds_standin(values, None, None)));
    let root = ec2_root(&url, "");
    let out = root.run(&["run", "--step", "access"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!root.join(AUTHORIZED).exists());
    assert_eq!(root.step("access")["state"], "degraded");
    assert!(
        root.message("access").contains(
            "the EC2 key pair from the instance metadata starts with 'command=\"/bin/sh\"'"
        ),
        "{}",
        root.message("access")
    );
}

#[tokio::test]
async fn config_disk_user_data_of_cloud_init_is_left_alone_and_a_mime_part_is_ours() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("user-data"), CLOUD_CONFIG).unwrap();
    let data = ConfigDisk::from_folder(dir.path().into())
        .fetch()
        .await
        .unwrap();
    assert!(data.config.is_none());
    assert_eq!(
        data.user_data_note.as_deref(),
        Some("config disk user-data is cloud-init's (#cloud-config); meet-agent left it alone")
    );

    std::fs::write(
        dir.path().join("user-data"),
        mime_user_data("[server]\ndomain = \"disk.example.org\"\n"),
    )
    .unwrap();
    let data = ConfigDisk::from_folder(dir.path().into())
        .fetch()
        .await
        .unwrap();
    let config = data.config.unwrap();
    assert_eq!(
        config.origin,
        "config disk user-data part text/x-meet-agent"
    );
    assert!(config.text.contains("disk.example.org"));
    assert!(data
        .user_data_note
        .unwrap()
        .contains("left text/cloud-config to cloud-init"));
}

/// A stand-in for Compute Engine's metadata server: like the real one it refuses requests
/// without `Metadata-Flavor: Google` (403), sends that header on every answer, and answers
/// 404 for keys that do not apply to the instance. Counts the requests it refused.
fn gce_metadata(
    values: HashMap<&'static str, Vec<u8>>,
    refused: Arc<AtomicUsize>,
) -> HeadersHandler {
    Arc::new(move |req, _body| {
        let flavor = vec![("Metadata-Flavor", "Google".to_string())];
        if req.headers().get("metadata-flavor").map(|v| v.as_bytes()) != Some(b"Google") {
            refused.fetch_add(1, Ordering::SeqCst);
            return (
                403,
                flavor,
                b"Your client does not have permission to get URL from this server. Missing Metadata-Flavor:Google header.".to_vec(),
            );
        }
        if req.method() != "GET" {
            return (405, flavor, vec![]);
        }
        match values.get(req.uri().path()) {
            Some(v) => (200, flavor, v.clone()),
            None => (404, flavor, b"Not Found".to_vec()),
        }
    })
}

fn gce_values(config: Option<String>) -> HashMap<&'static str, Vec<u8>> {
    let mut values = HashMap::from([
        (
            "/computeMetadata/v1/instance/id",
            b"4520031799277581759".to_vec(),
        ),
        (
            "/computeMetadata/v1/instance/machine-type",
            b"projects/123456789012/machineTypes/e2-standard-4".to_vec(),
        ),
        (
            "/computeMetadata/v1/instance/network-interfaces/0/access-configs/0/external-ip",
            b"203.0.113.20".to_vec(),
        ),
        (
            "/computeMetadata/v1/instance/zone",
            b"projects/123456789012/zones/europe-west1-b".to_vec(),
        ),
        (
            "/computeMetadata/v1/instance/network-interfaces/0/ip",
            b"10.128.0.5".to_vec(),
        ),
        (
            "/computeMetadata/v1/instance/network-interfaces/0/ipv6s",
            b"2600:1900:4000:7a4b:0:1::\n".to_vec(),
        ),
    ]);
    if let Some(config) = config {
        values.insert(
            "/computeMetadata/v1/instance/attributes/meet-agent-config",
            config.into_bytes(),
        );
    }
    values
}

#[tokio::test]
async fn gce_reads_metadata_and_the_gzip_base64_config_attribute() {
    meet_agent::install_crypto_provider();
    let toml = "[server]\ndomain = \"gce.example.org\"\n";
    let attribute = meet_agent::encoding::gzip_base64(toml.as_bytes()).unwrap();
    let refused = Arc::new(AtomicUsize::new(0));
    let url =
        serve_tcp_with_headers(gce_metadata(gce_values(Some(attribute)), refused.clone())).await;

    // The stand-in is strict, like the real server.
    let bare = reqwest::get(format!("{url}/computeMetadata/v1/instance/id"))
        .await
        .unwrap();
    assert_eq!(bare.status(), 403);
    assert_eq!(refused.load(Ordering::SeqCst), 1);

    let data = Gce::new(&url, quick()).fetch().await.unwrap();
    assert_eq!(
        refused.load(Ordering::SeqCst),
        1,
        "every request of ours carries the header"
    );
    assert_eq!(data.provider, "gce");
    assert_eq!(data.instance_id.as_deref(), Some("4520031799277581759"));
    assert_eq!(data.instance_type.as_deref(), Some("e2-standard-4"));
    assert_eq!(data.public_ipv4, Some("203.0.113.20".parse().unwrap()));
    assert_eq!(data.local_ipv4, Some("10.128.0.5".parse().unwrap()));
    assert_eq!(
        data.ipv6,
        Some("2600:1900:4000:7a4b:0:1::".parse().unwrap())
    );
    assert_eq!(data.key_pair, None, "SSH keys are the guest environment's");
    assert_eq!(
        data.region.as_deref(),
        Some("europe-west1"),
        "the zone's region"
    );
    let config = data.config.unwrap();
    assert_eq!(config.text, toml);
    assert_eq!(config.origin, "Compute Engine attribute meet-agent-config");
}

#[tokio::test]
async fn gce_without_attribute_is_fine_and_broken_or_impostor_answers_are_errors() {
    meet_agent::install_crypto_provider();
    let refused = Arc::new(AtomicUsize::new(0));
    let url = serve_tcp_with_headers(gce_metadata(gce_values(None), refused.clone())).await;
    let data = Gce::new(&url, quick()).fetch().await.unwrap();
    assert!(data.config.is_none(), "404 means no configuration");

    // Present but broken: gzip+base64 whose gzip is cut short.
    let mut gz =
        meet_agent::encoding::gzip_base64(b"[server]\ndomain = \"gce.example.org\"\n").unwrap();
    gz.truncate(24);
    let url = serve_tcp_with_headers(gce_metadata(gce_values(Some(gz)), refused.clone())).await;
    let err = format!("{:#}", Gce::new(&url, quick()).fetch().await.unwrap_err());
    assert!(
        err.starts_with("Compute Engine attribute meet-agent-config: gzip data is corrupt"),
        "{err}"
    );

    // Something that answers without the flavor header is not the metadata server.
    let url = serve_tcp(imds_standin(HashMap::new(), None, None)).await;
    let err = format!("{:#}", Gce::new(&url, quick()).fetch().await.unwrap_err());
    assert!(
        err.contains(&url) && err.contains("not the metadata server"),
        "{err}"
    );

    // A server that answers 500 until the deadline.
    let url = serve_tcp_with_headers(Arc::new(|_, _| {
        (500, vec![("Metadata-Flavor", "Google".into())], vec![])
    }))
    .await;
    let started = std::time::Instant::now();
    let err = format!("{:#}", Gce::new(&url, quick()).fetch().await.unwrap_err());
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        err.contains(&url) && err.contains("/computeMetadata/v1/instance/id answered 500"),
        "{err}"
    );
}

#[test]
fn auto_detects_gce_by_dmi_and_its_config_reaches_the_run_and_status() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let refused = Arc::new(AtomicUsize::new(0));
    let url = rt.block_on(serve_tcp_with_headers(gce_metadata(
        gce_values(Some("[server]\ndomain = \"gce.example.org\"\n".into())),
        refused,
    )));
    let root = Root::new();
    root.config(
        "00-source.toml",
        &format!("[source]\ngce_endpoint = \"{url}\"\n"),
    );
    let out = root.run(&["config", "check"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("instance source: none"),
        "{}",
        text(&out)
    );
    root.write("/sys/class/dmi/id/product_name", "Google Compute Engine\n");
    let out = root.run(&["config", "check"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("instance source: gce"),
        "{}",
        text(&out)
    );
    let out = root.run(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (_, status) = root.status_json(&[]);
    let id = &status["identity"];
    assert_eq!(id["domain"], "gce.example.org");
    assert_eq!(id["public_ipv4"], "203.0.113.20");
    assert_eq!(id["public_ipv4_source"], "gce");
    assert_eq!(id["instance"]["instance_type"], "e2-standard-4");
    assert_eq!(root.state()["instance_id"], "4520031799277581759");

    // An endpoint that is not a URL is named with its key.
    root.config("00-source.toml", "[source]\ngce_endpoint = \"metadata\"\n");
    let out = root.run(&["config", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("key `source.gce_endpoint`"),
        "{}",
        text(&out)
    );
}

/// A join token for the region tests' bridges.
fn join_token(domain: &str) -> String {
    let pair =
        meet_agent::bridge::xmpp_cert::generate(domain, time::OffsetDateTime::now_utc()).unwrap();
    meet_agent::bridge::token::Token::new(
        "signal.example.test",
        5222,
        domain,
        "the-deployment-jvb-password",
        &pair.chain_pem(),
    )
    .unwrap()
    .encode()
}

#[test]
fn the_instance_sources_region_is_the_relay_region_unless_bridge_region_says_otherwise() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let jvb_conf = meet_agent::jitsi::videobridge::CONF;
    // A videobridge on EC2: its relay region is IMDS's placement/region.
    let url = rt.block_on(serve_tcp(imds_standin(ec2_values(Vec::new()), None, None)));
    let token = join_token("meet.example.test");
    let bridge = |extra: &str| {
        format!(
            "[source]\nprovider = \"ec2\"\nec2_endpoint = \"{url}\"\n[server]\nrole = \"videobridge\"\n\
             [bridge]\njoin = \"{token}\"\n{extra}"
        )
    };
    let root = Root::new();
    root.config("00.toml", &bridge(""));
    let out = root.run(&["run"]);
    assert_eq!(root.step("jitsi")["state"], "ok", "{}", text(&out));
    let jvb = std::fs::read_to_string(root.join(jvb_conf)).unwrap();
    assert!(jvb.contains("region = \"eu-west-3\""), "{jvb}");
    // An explicit bridge.region wins over the instance source's.
    root.config("00.toml", &bridge("region = \"rack-7\"\n"));
    let out = root.run(&["run"]);
    assert_eq!(root.step("jitsi")["state"], "ok", "{}", text(&out));
    let jvb = std::fs::read_to_string(root.join(jvb_conf)).unwrap();
    assert!(
        jvb.contains("region = \"rack-7\"") && !jvb.contains("eu-west-3"),
        "{jvb}"
    );

    // A signaling node on Compute Engine: jicofo's local region is its zone's region.
    let refused = Arc::new(AtomicUsize::new(0));
    let url = rt.block_on(serve_tcp_with_headers(gce_metadata(
        gce_values(None),
        refused,
    )));
    let root = Root::new();
    root.config(
        "00.toml",
        &format!(
            "[source]\nprovider = \"gce\"\ngce_endpoint = \"{url}\"\n\
             [server]\ndomain = \"meet.example.test\"\nrole = \"signaling\"\n"
        ),
    );
    let out = root.run(&["run"]);
    assert_eq!(root.step("jitsi")["state"], "ok", "{}", text(&out));
    let jicofo = std::fs::read_to_string(root.join(meet_agent::jitsi::jicofo::CONF)).unwrap();
    assert!(
        jicofo.contains("local-region = \"europe-west1\""),
        "{jicofo}"
    );
}
