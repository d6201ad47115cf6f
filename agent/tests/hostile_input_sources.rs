//! Hostile input from the places the agent reads (issue 19, items 11 to 15): metadata
//! services, the stack's REST APIs, user-data, configuration and a DDNS provider that
//! answer as an attacker (or a broken proxy) would. Each test names the finding and covers
//! every reader of its class, against real loopback servers and the real binary.

mod common;

use common::{text, Root};
use meet_agent::retry::Retry;
use meet_agent::source::ec2::Ec2;
use meet_agent::source::gce::Gce;
use meet_agent::source::lxd::Lxd;
use meet_agent::source::InstanceSource;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the hostile server answers to one request.
#[derive(Clone)]
enum Answer {
    /// An ordinary answer: status and body.
    Plain(u16, Vec<u8>),
    /// A chunked body that does not end. It stops after [`ENDLESS_CAP`] so that a client
    /// without a ceiling fails the test instead of filling the machine's memory.
    Endless,
    /// `Content-Length: 200000000`, a KiB of it, then silence.
    Declared,
    /// `302 Found` to `location`.
    Redirect(String),
}

/// The most an "endless" answer sends.
const ENDLESS_CAP: usize = 64 << 20;
/// What a client with a ceiling may have taken of it (its ceiling plus socket buffers).
const READ_AT_MOST: usize = 16 << 20;

/// A raw HTTP/1.1 server: every request's head is recorded, every answer closes the
/// connection, and `sent` counts the body bytes it wrote.
#[derive(Clone)]
struct Hostile {
    base: String,
    sent: Arc<AtomicUsize>,
    heads: Arc<Mutex<Vec<String>>>,
}

type AnswerFn = Arc<dyn Fn(&str) -> Answer + Send + Sync>;

impl Hostile {
    /// On 127.0.0.1; `headers` (lines ending in CRLF) go on every answer.
    fn tcp(headers: &'static str, answer: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = Self::unstarted(base);
        let (sent, heads, answer) = (
            server.sent.clone(),
            server.heads.clone(),
            Arc::new(answer) as AnswerFn,
        );
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (sent, heads, answer) = (sent.clone(), heads.clone(), answer.clone());
                std::thread::spawn(move || handle(conn, headers, &*answer, &sent, &heads));
            }
        });
        server
    }

    /// On a Unix socket at `path` (devlxd).
    fn unix(
        path: &std::path::Path,
        answer: impl Fn(&str) -> Answer + Send + Sync + 'static,
    ) -> Self {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let listener = std::os::unix::net::UnixListener::bind(path).unwrap();
        let server = Self::unstarted(path.display().to_string());
        let (sent, heads, answer) = (
            server.sent.clone(),
            server.heads.clone(),
            Arc::new(answer) as AnswerFn,
        );
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (sent, heads, answer) = (sent.clone(), heads.clone(), answer.clone());
                std::thread::spawn(move || handle(conn, "", &*answer, &sent, &heads));
            }
        });
        server
    }

    fn unstarted(base: String) -> Self {
        Self {
            base,
            sent: Arc::new(AtomicUsize::new(0)),
            heads: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn sent(&self) -> usize {
        self.sent.load(Ordering::SeqCst)
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

fn handle<S: Read + Write>(
    mut conn: S,
    headers: &str,
    answer: &(dyn Fn(&str) -> Answer + Send + Sync),
    sent: &AtomicUsize,
    heads: &Mutex<Vec<String>>,
) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match conn.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    heads.lock().unwrap().push(head.clone());
    let line = head.lines().next().unwrap_or_default().to_string();
    let close = "Connection: close\r\n";
    match answer(&line) {
        Answer::Plain(status, body) => {
            let _ = write!(
                conn,
                "HTTP/1.1 {status} X\r\n{headers}{close}Content-Length: {}\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(&body);
        }
        Answer::Redirect(location) => {
            let _ = write!(
                conn,
                "HTTP/1.1 302 Found\r\n{headers}{close}Location: {location}\r\nContent-Length: 0\r\n\r\n"
            );
        }
        Answer::Declared => {
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\n{headers}{close}Content-Length: 200000000\r\n\r\n"
            );
            if conn.write_all(&[b'x'; 1024]).is_ok() {
                sent.fetch_add(1024, Ordering::SeqCst);
            }
            std::thread::sleep(Duration::from_secs(20));
        }
        Answer::Endless => {
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\n{headers}{close}Transfer-Encoding: chunked\r\n\r\n"
            );
            let chunk = vec![b'x'; 64 << 10];
            while sent.load(Ordering::SeqCst) < ENDLESS_CAP {
                let ok = write!(conn, "{:x}\r\n", chunk.len()).is_ok()
                    && conn.write_all(&chunk).is_ok()
                    && conn.write_all(b"\r\n").is_ok();
                if !ok {
                    return;
                }
                sent.fetch_add(chunk.len(), Ordering::SeqCst);
            }
            let _ = conn.write_all(b"0\r\n\r\n");
        }
    }
}

/// Retries short, but a request timeout long enough that waiting for a declared body
/// (instead of refusing it) shows as slowness.
fn retry() -> Retry {
    Retry {
        deadline: Duration::from_secs(2),
        backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(100),
        request_timeout: Duration::from_secs(15),
        max_attempts: u32::MAX,
    }
}

/// Runs `read` against `server`: it must end within a few seconds with an answer that
/// names every one of `names` and says it was too large, having taken at most a few MiB.
async fn refused(
    what: &str,
    server: &Hostile,
    names: &[&str],
    read: impl std::future::Future<Output = String>,
) {
    let start = Instant::now();
    let said = tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .unwrap_or_else(|_| panic!("{what}: still reading after 10 s"));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{what}: took {:?} (the body was read, not refused): {said}",
        start.elapsed()
    );
    for name in names.iter().chain(&["larger than"]) {
        assert!(said.contains(name), "{what}: `{name}` missing from: {said}");
    }
    assert!(
        server.sent() < READ_AT_MOST,
        "{what}: {} bytes were read before refusing: {said}",
        server.sent()
    );
}

/// An EC2 metadata service that answers `hostile` at `path` and ordinary values elsewhere.
fn ec2_service(path: &'static str, hostile: Answer) -> Hostile {
    Hostile::tcp("", move |line| {
        if line.contains(&format!(" {path} ")) {
            return hostile.clone();
        }
        if line.starts_with("PUT /latest/api/token") {
            return Answer::Plain(200, b"token-123".to_vec());
        }
        if line.contains("/meta-data/autoscaling/target-lifecycle-state") {
            return Answer::Plain(200, b"InService".to_vec());
        }
        if line.contains("/meta-data/instance-id") {
            return Answer::Plain(200, b"i-0123456789abcdef0".to_vec());
        }
        Answer::Plain(404, Vec::new())
    })
}

fn debug<T, E: std::fmt::Display>(result: Result<T, E>) -> String {
    match result {
        Ok(_) => "read without error".into(),
        Err(e) => format!("{e:#}"),
    }
}

// ---- Item 11: every body is read with a ceiling, refused past it, naming the source ----

#[tokio::test(flavor = "multi_thread")]
async fn endless_or_huge_answers_from_every_metadata_service_and_rest_api_are_refused_naming_the_source(
) {
    meet_agent::install_crypto_provider();
    for hostile in [Answer::Endless, Answer::Declared] {
        let kind = if matches!(hostile, Answer::Endless) {
            "endless"
        } else {
            "declared 200 MB"
        };

        for path in [
            "/latest/user-data",
            "/latest/api/token",
            "/latest/meta-data/instance-id",
        ] {
            let server = ec2_service(path, hostile.clone());
            let ec2 = Ec2::new(&server.base, retry());
            refused(
                &format!("EC2 source, {kind} {path}"),
                &server,
                &["EC2 instance metadata", path],
                async { debug(ec2.fetch().await) },
            )
            .await;
        }

        for key in ["instance/attributes/meet-agent-config", "instance/id"] {
            let h = hostile.clone();
            let server = Hostile::tcp("Metadata-Flavor: Google\r\n", move |line| {
                if line.contains(&format!("/computeMetadata/v1/{key} ")) {
                    h.clone()
                } else {
                    Answer::Plain(404, Vec::new())
                }
            });
            let gce = Gce::new(&server.base, retry());
            refused(
                &format!("Compute Engine source, {kind} {key}"),
                &server,
                &["Compute Engine metadata", key],
                async { debug(gce.fetch().await) },
            )
            .await;
        }

        for path in ["/1.0/config/user.meet-agent.config", "/1.0"] {
            let dir = tempfile::tempdir().unwrap();
            let socket = dir.path().join("dev/lxd/sock");
            let h = hostile.clone();
            let server = Hostile::unix(&socket, move |line| {
                if line.contains(&format!(" {path} ")) {
                    h.clone()
                } else if line.contains(" /1.0 ") {
                    Answer::Plain(200, b"{}".to_vec())
                } else {
                    Answer::Plain(404, Vec::new())
                }
            });
            let lxd = Lxd::new(socket, Duration::from_secs(15));
            refused(
                &format!("LXD source, {kind} {path}"),
                &server,
                &["LXD guest API", path],
                async { debug(lxd.fetch().await) },
            )
            .await;
        }

        // The running bridge's IMDS reads (`meet-agent scale`): lifecycle state and token.
        for path in [
            "/latest/meta-data/autoscaling/target-lifecycle-state",
            "/latest/api/token",
        ] {
            let server = ec2_service(path, hostile.clone());
            let imds =
                meet_agent::aws::imds::Imds::new(&server.base, Duration::from_secs(15)).unwrap();
            refused(
                &format!("scale's IMDS, {kind} {path}"),
                &server,
                &["EC2 instance metadata", path],
                async { debug(imds.lifecycle_state().await) },
            )
            .await;
        }

        // The videobridge's and jicofo's statistics.
        let h = hostile.clone();
        let server = Hostile::tcp("", move |_| h.clone());
        let bridge =
            meet_agent::jitsi::videobridge_api::Bridge::new(&server.base, Duration::from_secs(15))
                .unwrap();
        refused(
            &format!("bridge stats, {kind}"),
            &server,
            &["videobridge", "/colibri/stats"],
            async { debug(bridge.stats().await) },
        )
        .await;
        let h = hostile.clone();
        let server = Hostile::tcp("", move |_| h.clone());
        let endpoints = meet_agent::ops::stats::Endpoints {
            videobridge: format!("{}/colibri/stats", server.base),
            jicofo: format!("{}/stats", server.base),
        };
        refused(
            &format!("idle check stats, {kind}"),
            &server,
            &["videobridge", "jicofo"],
            async {
                meet_agent::ops::stats::read(&endpoints)
                    .await
                    .silent
                    .join("; ")
            },
        )
        .await;
    }
}

#[test]
fn config_check_with_endless_ec2_user_data_ends_quickly_naming_it() {
    let server = ec2_service("/latest/user-data", Answer::Endless);
    let root = Root::new();
    root.config(
        "00-source.toml",
        &format!(
            "[source]\nprovider = \"ec2\"\nec2_endpoint = \"{}\"\ntimeout_seconds = 2\n",
            server.base
        ),
    );
    let start = Instant::now();
    let out = root.run(&["config", "check"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("EC2 instance metadata")
            && all.contains("/latest/user-data")
            && all.contains("larger than 1 MiB"),
        "{all}"
    );
    assert!(start.elapsed() < Duration::from_secs(10), "{all}");
    assert!(
        server.sent() < READ_AT_MOST,
        "{} bytes read: {all}",
        server.sent()
    );
}

// ---- Item 12: no redirect is followed, and none gets a token ----

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_from_any_metadata_service_is_an_error_and_the_other_host_gets_nothing() {
    meet_agent::install_crypto_provider();
    let elsewhere = Hostile::tcp("Metadata-Flavor: Google\r\n", |_| {
        Answer::Plain(200, b"[server]\ndomain = \"evil.example.org\"\n".to_vec())
    });
    let to = format!("{}/stolen", elsewhere.base);

    for path in [
        "/latest/user-data",
        "/latest/api/token",
        "/latest/meta-data/instance-id",
    ] {
        let server = ec2_service(path, Answer::Redirect(to.clone()));
        let said = debug(Ec2::new(&server.base, retry()).fetch().await);
        assert!(
            said.contains("EC2 instance metadata")
                && said.contains(path)
                && said.contains("redirect"),
            "{path}: {said}"
        );
    }
    let to_gce = to.clone();
    let gce = Hostile::tcp("Metadata-Flavor: Google\r\n", move |line| {
        if line.contains("meet-agent-config") {
            Answer::Redirect(to_gce.clone())
        } else {
            Answer::Plain(404, Vec::new())
        }
    });
    let said = debug(Gce::new(&gce.base, retry()).fetch().await);
    assert!(
        said.contains("Compute Engine metadata") && said.contains("redirect"),
        "{said}"
    );
    for path in [
        "/latest/meta-data/autoscaling/target-lifecycle-state",
        "/latest/api/token",
    ] {
        let server = ec2_service(path, Answer::Redirect(to.clone()));
        let imds = meet_agent::aws::imds::Imds::new(&server.base, Duration::from_secs(5)).unwrap();
        let said = debug(imds.lifecycle_state().await);
        assert!(
            said.contains("EC2 instance metadata")
                && said.contains(path)
                && said.contains("redirect"),
            "{path}: {said}"
        );
    }
    // A signed AWS request (it carries the role's session token) redirected elsewhere.
    let imds = Hostile::tcp("", |line| {
        if line.starts_with("PUT /latest/api/token") {
            Answer::Plain(200, b"token-123".to_vec())
        } else if line.contains("/iam/security-credentials/ ") {
            Answer::Plain(200, b"role".to_vec())
        } else if line.contains("/iam/security-credentials/role ") {
            let json = serde_json::json!({
                "Code": "Success",
                "AccessKeyId": "ASIAREDIRECTTEST0001",
                "SecretAccessKey": "redirect-secret",
                "Token": "redirect-session-token",
                "Expiration": "2099-01-01T00:00:00Z",
            });
            Answer::Plain(200, json.to_string().into_bytes())
        } else {
            Answer::Plain(404, Vec::new())
        }
    });
    let to_aws = to.clone();
    let aws_endpoint = Hostile::tcp("", move |_| Answer::Redirect(to_aws.clone()));
    let endpoint = format!("{}/", aws_endpoint.base);
    let aws = meet_agent::aws::api::Aws::new(
        "eu-west-1",
        meet_agent::aws::api::Endpoints {
            cloudwatch: endpoint.clone(),
            autoscaling: endpoint.clone(),
            ssm: endpoint,
        },
        Arc::new(meet_agent::aws::imds::Imds::new(&imds.base, Duration::from_secs(5)).unwrap()),
        Duration::from_secs(5),
    )
    .unwrap();
    let said = debug(aws.get_parameter("/ryo-jitsi/join").await);
    assert!(
        said.contains("GetParameter") && said.contains("redirect"),
        "{said}"
    );
    assert_eq!(aws_endpoint.heads().len(), 1, "{said}");

    assert!(
        elsewhere.heads().is_empty(),
        "the redirect was followed: {:?}",
        elsewhere.heads()
    );
}

// ---- Item 13: our part, unfindable in what is plainly MIME, is an error ----

/// MIME user-data as cloud-init's `make-mime` writes it, with `declared` as the boundary
/// parameter and `other_headers` in the cloud-config part: that part, then ours.
fn make_mime(declared: &str, other_headers: &str) -> String {
    let b = "===============0035287898381899620==";
    format!(
        "Content-Type: multipart/mixed; boundary=\"{declared}\"\r\nMIME-Version: 1.0\r\n\r\n\
         --{b}\r\nContent-Type: text/cloud-config; charset=\"us-ascii\"\r\n{other_headers}\
         MIME-Version: 1.0\r\nContent-Transfer-Encoding: 7bit\r\n\r\n#cloud-config\r\npackages: [htop]\r\n\r\n\
         --{b}\r\nContent-Type: text/x-meet-agent; charset=\"us-ascii\"\r\nMIME-Version: 1.0\r\n\
         Content-Transfer-Encoding: 7bit\r\n\r\n[server]\r\ndomain = \"mime.example.org\"\r\n\r\n\
         --{b}--\r\n"
    )
}

/// A root whose source is the EC2 stand-in at `base`.
fn ec2_root(base: &str) -> Root {
    let root = Root::new();
    root.write("/etc/machine-id", "13131313131313131313131313131313\n");
    root.config(
        "00-source.toml",
        &format!(
            "[source]\nprovider = \"ec2\"\nec2_endpoint = \"{base}\"\ntimeout_seconds = 2\n[dns.wait]\nenabled = false\n"
        ),
    );
    root
}

#[test]
fn mime_user_data_whose_boundary_misses_our_part_fails_config_check_and_run() {
    let b = "===============0035287898381899620==";
    // Another boundary, one character longer, one shorter (a prefix of every delimiter
    // line, which only a reader that matches prefixes would take), a short word.
    let mismatched = [
        "===============9999999999999999999==".to_string(),
        format!("{b}X"),
        b[..b.len() - 1].to_string(),
        "other".to_string(),
    ];
    for declared in &mismatched {
        let user_data = make_mime(declared, "").into_bytes();
        let server = ec2_service("/latest/user-data", Answer::Plain(200, user_data));
        let root = ec2_root(&server.base);
        let check = root.run(&["config", "check"]);
        let said = String::from_utf8_lossy(&check.stderr).into_owned();
        assert_eq!(check.status.code(), Some(1), "{declared}: {}", text(&check));
        assert!(
            said.contains("EC2 user-data") && said.contains("text/x-meet-agent"),
            "{declared}: {said}"
        );
        let run = root.run(&["run"]);
        assert_ne!(run.status.code(), Some(0), "{declared}: {}", text(&run));
        assert!(
            text(&run).contains("text/x-meet-agent"),
            "{declared}: {}",
            text(&run)
        );
    }
}

#[test]
fn mime_user_data_with_odd_headers_in_cloud_inits_part_still_gives_our_part() {
    // Each is what Python's email package (cloud-init's reader) takes with a defect noted:
    // a line without a colon, a name with a space before its colon, a first header line
    // that is a continuation, and more header lines than anyone writes.
    let many: String = (0..100).map(|i| format!("X-Note-{i}: {i}\r\n")).collect();
    for odd in [
        "X-Note without a colon\r\n",
        "Content-Disposition : attachment\r\n",
        many.as_str(),
    ] {
        let user_data = make_mime("===============0035287898381899620==", odd);
        let server = ec2_service(
            "/latest/user-data",
            Answer::Plain(200, user_data.into_bytes()),
        );
        let root = ec2_root(&server.base);
        let check = root.run(&["config", "check"]);
        assert_eq!(check.status.code(), Some(0), "{odd:?}: {}", text(&check));
        let run = root.run(&["run", "--step", "identity"]);
        assert_eq!(run.status.code(), Some(0), "{odd:?}: {}", text(&run));
        let (_, status) = root.status_json(&[]);
        assert_eq!(status["identity"]["domain"], "mime.example.org", "{odd:?}");
    }
    // A part whose headers open with a continuation line (Python drops that line).
    let user_data = make_mime("===============0035287898381899620==", "").replacen(
        "--===============0035287898381899620==\r\nContent-Type: text/cloud-config",
        "--===============0035287898381899620==\r\n  folded first\r\nContent-Type: text/cloud-config",
        1,
    );
    let server = ec2_service(
        "/latest/user-data",
        Answer::Plain(200, user_data.into_bytes()),
    );
    let root = ec2_root(&server.base);
    let check = root.run(&["config", "check"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
}

// ---- Item 14: nothing from outside reaches a terminal with its control characters ----

/// Whether `bytes` hold a control character other than a line break.
fn control_in(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    text.chars()
        .find(|c| {
            *c != '\n'
                && (c.is_control()
                    || ('\u{202a}'..='\u{2069}').contains(c)
                        && !('\u{202f}'..='\u{2065}').contains(c))
        })
        .map(|c| format!("{c:?} in:\n{text}"))
}

#[test]
fn escape_sequences_from_config_reach_no_terminal_output() {
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMa0tGi/fmhJkD1Ti3p6MlTw0sywZQmBQ4kyYWYBkVA1";
    let hostile = [
        // In server.domain (refused by validation, and quoted when it is).
        "[server]\ndomain = \"meet\\u001b]0;owned\\u0007.example.org\"\n".to_string(),
        // In a key's comment.
        format!("[server]\ndomain = \"meet.example.org\"\n[access]\nssh_authorized_keys = [\"{key} op\\u001b[2J\\u0007\\u009b31m\"]\n"),
        // In a key that is refused, so that the error quotes it.
        "[server]\ndomain = \"meet.example.org\"\n[access]\nssh_authorized_keys = [\"ssh-\\u001b[31mrsa AAAA\"]\n".to_string(),
        // In an unknown key's name, quoted by the error.
        "[server]\ndomain = \"meet.example.org\"\n\"x\\u001b[5m\" = 1\n".to_string(),
    ];
    for toml in hostile {
        let root = Root::new();
        root.write("/etc/machine-id", "14141414141414141414141414141414\n");
        root.config(
            "00-site.toml",
            "[source]\nprovider = \"none\"\n[dns.wait]\nenabled = false\n",
        );
        root.config("10-hostile.toml", &toml);
        let check = root.run(&["config", "check"]);
        let run = root.run(&["run", "--step", "identity"]);
        let status = root.run(&["status"]);
        let brief = root.run(&["status", "--brief"]);
        for (what, out) in [
            ("config check", &check),
            ("run", &run),
            ("status", &status),
            ("status --brief", &brief),
        ] {
            for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
                if let Some(found) = control_in(bytes) {
                    panic!("{toml}\n{what} {stream}: {found}");
                }
            }
        }
    }
}

#[test]
fn escape_sequences_in_a_providers_answer_reach_no_log_line_or_status() {
    // What a DDNS provider and the public address lookup answer is quoted in step messages
    // and log lines: every control character and direction override of them, not only
    // those the log library escapes itself (ESC, BEL, C1).
    const HOSTILE: &str =
        "no\u{1b}]0;owned\u{7} \u{e}shift\u{f} \u{202e}desrever\u{202c} \u{9b}31m \u{8}\u{8}ok";
    let answer = HOSTILE.as_bytes().to_vec();
    let provider = Hostile::tcp("", move |line| {
        let status = if line.contains(" /ip ") { 200 } else { 400 };
        Answer::Plain(status, answer.clone())
    });
    let root = Root::new();
    root.write("/etc/machine-id", "14141414141414141414141414141414\n");
    root.config(
        "00-site.toml",
        &format!(
            "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.org\"\npublic_ipv6 = \"2001:db8::14\"\npublic_ip_url = \"{base}/ip\"\n[dns.wait]\nenabled = false\n[dns]\nupdate_timeout_seconds = 1\n[[dns.update]]\ntype = \"url\"\nurl = \"{base}/nic/update\"\n",
            base = provider.base
        ),
    );
    let identity = root.run(&["run", "--step", "identity"]);
    let ddns = root.run(&["run", "--step", "ddns"]);
    assert!(
        root.message("ddns").contains("shift"),
        "the answer was not quoted: {}",
        text(&ddns)
    );
    let status = root.run(&["status"]);
    let brief = root.run(&["status", "--brief"]);
    for (what, out) in [
        ("run --step identity", &identity),
        ("run --step ddns", &ddns),
        ("status", &status),
        ("status --brief", &brief),
    ] {
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            if let Some(found) = control_in(bytes) {
                panic!("{what} {stream}: {found}");
            }
        }
    }
}

// ---- Item 15: a provider echoing the credential in more encodings ----

#[test]
fn a_provider_echoing_the_password_in_hex_or_double_or_lower_case_encoding_leaks_nothing() {
    const PASSWORD: &str = "ECHOPASS p&ss+1/=";
    let hex: String = PASSWORD.bytes().map(|b| format!("{b:02x}")).collect();
    let once: String =
        percent_encoding::utf8_percent_encode(PASSWORD, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    let twice: String =
        percent_encoding::utf8_percent_encode(&once, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    let all_lower: String = PASSWORD.bytes().map(|b| format!("%{b:02x}")).collect();
    let body = format!(
        "bad: hex={} HEX={} twice={twice} lower={all_lower}",
        hex,
        hex.to_uppercase()
    );
    let echo = body.clone().into_bytes();
    let provider = Hostile::tcp("", move |_| Answer::Plain(400, echo.clone()));
    let root = Root::new();
    root.write("/etc/machine-id", "15151515151515151515151515151515\n");
    root.config(
        "00-site.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.org\"\npublic_ipv4 = \"203.0.113.15\"\n[dns.wait]\nenabled = false\n",
    );
    root.config(
        "10-ddns.toml",
        &format!(
            "[dns]\nupdate_timeout_seconds = 1\n[[dns.update]]\ntype = \"url\"\nurl = \"{}/nic/update?pw={{password}}\"\npassword = {}\n",
            provider.base,
            serde_json::to_string(PASSWORD).unwrap()
        ),
    );
    let run = root.run(&["run", "--step", "ddns"]);
    let message = root.message("ddns");
    assert!(
        message.contains("HTTP 400") && message.contains("<redacted>"),
        "{message}\n{}",
        text(&run)
    );
    let status = root.run(&["status"]);
    let state = std::fs::read_to_string(root.join("/var/lib/meet-agent/state.json")).unwrap();
    for (what, output) in [
        ("run", text(&run)),
        ("status", text(&status)),
        ("state.json", state),
    ] {
        for form in [
            &hex[..16],
            &hex.to_uppercase()[..16],
            &twice[..20],
            &all_lower[..20],
            "ECHOPASS",
        ] {
            assert!(!output.contains(form), "{what} holds {form}:\n{output}");
        }
    }
}
