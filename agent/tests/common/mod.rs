//! Shared test fixtures: a fixture root, running the real binary, test certificates and
//! small real HTTP servers (TCP on 127.0.0.1 and Unix sockets).
#![allow(dead_code)]

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// A temporary file system root for `meet-agent --root`.
pub struct Root {
    pub dir: tempfile::TempDir,
}

impl Root {
    /// A root whose vendor configuration turns off what would reach beyond the test: the
    /// first-boot apt run (which tests/operations.rs turns back on against loopback
    /// mirrors) and the maintenance-window timer (which needs systemd).
    pub fn new() -> Self {
        let root = Self {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        root.write(
            "/usr/lib/meet-agent/config.d/00-test-machine.toml",
            "[updates]\nfirst_boot = false\nreboot_window = \"\"\n",
        );
        root
    }

    /// A videobridge for `domain` that joins with token `join`; `extra` goes on in the
    /// `[bridge]` section.
    pub fn bridge(domain: &str, join: &str, extra: &str) -> Self {
        let root = Self::new();
        root.write("/etc/machine-id", "77777777777777777777777777777777\n");
        root.config(
            "00.toml",
            &format!(
                "[source]\nprovider = \"none\"\n[server]\ndomain = \"{domain}\"\nrole = \"videobridge\"\n\
                 [bridge]\njoin = \"{join}\"\n{extra}"
            ),
        );
        root
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel.trim_start_matches('/'))
    }

    /// Writes a file below the root, creating folders.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Writes a drop-in to /etc/meet-agent/config.d.
    pub fn config(&self, name: &str, toml: &str) -> PathBuf {
        self.write(&format!("/etc/meet-agent/config.d/{name}"), toml)
    }

    /// Runs the real binary with this root.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(args, env).output().expect("run meet-agent")
    }

    /// Runs the real binary with `stdin` as its standard input.
    pub fn run_stdin(&self, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .command(args, env)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start meet-agent");
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(stdin.as_bytes()).expect("write stdin");
        drop(input);
        child.wait_with_output().expect("run meet-agent")
    }

    /// Starts the real binary with this root without waiting for it.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.command(args, &[])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start meet-agent")
    }

    /// The real binary with this root and `args`, run in network namespace `ns` (`ip
    /// netns exec`), with the caller's environment.
    pub fn command_in(&self, ns: &str, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            ns,
            env!("CARGO_BIN_EXE_meet-agent"),
            "--root",
        ])
        .arg(self.path())
        .args(args);
        cmd
    }

    /// The real binary with this root, `args` and `env`, and no system bus or systemd
    /// notification socket unless a test provides one.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_meet-agent"));
        cmd.arg("--root").arg(self.path()).args(args);
        // No system bus unless a test provides one.
        cmd.env(
            "DBUS_SYSTEM_BUS_ADDRESS",
            "unix:path=/nonexistent/meet-agent-test-bus",
        );
        cmd.env_remove("NOTIFY_SOCKET").env_remove("JOURNAL_STREAM");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn status_json(&self, env: &[(&str, &str)]) -> (i32, serde_json::Value) {
        let out = self.run_env(&["status", "--json"], env);
        let json = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("status --json is not JSON ({e}): {}", text(&out)));
        (out.status.code().unwrap_or(-1), json)
    }

    /// One step's record in the state file.
    pub fn step(&self, name: &str) -> serde_json::Value {
        self.state()["steps"][name].clone()
    }

    /// One step's message in the state file.
    pub fn message(&self, name: &str) -> String {
        self.step(name)["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn state(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.join("/var/lib/meet-agent/state.json")).unwrap())
            .unwrap()
    }
}

/// stdout and stderr of a run, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A test CA, an intermediate and helpers to issue leaves.
pub struct TestCa {
    pub root_pem: String,
    pub inter_pem: String,
    inter_key: KeyPair,
    inter_params: CertificateParams,
}

pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p
}

impl TestCa {
    pub fn new() -> Self {
        let root_key = KeyPair::generate().unwrap();
        let root_params = ca_params("Test Root CA");
        let root = root_params.clone().self_signed(&root_key).unwrap();
        let inter_key = KeyPair::generate().unwrap();
        let inter_params = ca_params("Test Intermediate CA");
        let root_issuer = Issuer::new(root_params, &root_key);
        let inter = inter_params
            .clone()
            .signed_by(&inter_key, &root_issuer)
            .unwrap();
        Self {
            root_pem: root.pem(),
            inter_pem: inter.pem(),
            inter_key,
            inter_params,
        }
    }

    /// A leaf for `names`, valid from `from` for `days`.
    pub fn leaf_at(&self, names: &[&str], from: OffsetDateTime, days: i64) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
        p.distinguished_name.push(DnType::CommonName, names[0]);
        p.not_before = from;
        p.not_after = from + Duration::days(days);
        let issuer = Issuer::new(self.inter_params.clone(), &self.inter_key);
        let cert = p.signed_by(&key, &issuer).unwrap();
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    pub fn leaf(&self, names: &[&str]) -> Leaf {
        self.leaf_at(names, OffsetDateTime::now_utc() - Duration::days(1), 90)
    }

    /// Leaf then intermediate: the order servers must send.
    pub fn chain(&self, leaf: &Leaf) -> String {
        format!("{}{}", leaf.cert_pem, self.inter_pem)
    }
}

/// A handler: request (method, path, headers, body) -> (status, body).
pub type Handler = Arc<dyn Fn(&Request<()>, &[u8]) -> (u16, Vec<u8>) + Send + Sync>;

/// A handler that also sets response headers: request -> (status, headers, body).
pub type HeadersHandler =
    Arc<dyn Fn(&Request<()>, &[u8]) -> (u16, Vec<(&'static str, String)>, Vec<u8>) + Send + Sync>;

async fn answer(
    handler: HeadersHandler,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    use http_body_util::BodyExt;
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let head = Request::from_parts(parts, ());
    let (status, headers, out) = handler(&head, &body);
    let mut response = Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(name, value);
    }
    Ok(response.body(Full::new(Bytes::from(out))).unwrap())
}

/// A plain handler as one that sets no headers.
fn without_headers(handler: Handler) -> HeadersHandler {
    Arc::new(move |req, body| {
        let (status, out) = handler(req, body);
        (status, Vec::new(), out)
    })
}

/// Answers one accepted connection with `handler`.
fn serve_connection<S>(stream: S, handler: HeadersHandler)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let service = hyper::service::service_fn(move |req| answer(handler.clone(), req));
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service)
            .await;
    });
}

/// Serves `handler` over HTTP/1.1 on 127.0.0.1 (a random port); returns the base URL.
pub async fn serve_tcp(handler: Handler) -> String {
    serve_tcp_with_headers(without_headers(handler)).await
}

/// As [`serve_tcp`], for a handler that sets response headers.
pub async fn serve_tcp_with_headers(handler: HeadersHandler) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            serve_connection(stream, handler.clone());
        }
    });
    format!("http://{addr}")
}

/// Serves `handler` over HTTP/1.1 on a Unix socket at `path`.
pub async fn serve_unix(path: &Path, handler: Handler) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let listener = tokio::net::UnixListener::bind(path).unwrap();
    let handler = without_headers(handler);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            serve_connection(stream, handler.clone());
        }
    });
}

/// A small HTTP/1.1 server on a thread, on 127.0.0.1: `answer` gets each request line
/// (`GET /path HTTP/1.1`) and returns the status code and JSON/text body. Returns the port.
pub fn serve_http_thread(answer: impl Fn(&str) -> (u16, String) + Send + 'static) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let n = conn.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).into_owned();
            let (status, body) = answer(request.lines().next().unwrap_or(""));
            let _ = write!(
                conn,
                "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                if status == 200 { "OK" } else { "Not Found" },
                body.len()
            );
        }
    });
    port
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Where the package's unit files are in this repository (systemd/ mirrors the installed
/// tree).
pub const SHIPPED_UNITS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../systemd/usr/lib/systemd/system"
);

/// Writes the shipped unit `name` to `dir` with the test's binary in place of
/// /usr/bin/meet-agent (systemd-analyze verify checks that ExecStart's program exists).
pub fn shipped_unit(dir: &Path, name: &str) -> PathBuf {
    let unit = std::fs::read_to_string(format!("{SHIPPED_UNITS}/{name}")).unwrap();
    let path = dir.join(name);
    std::fs::write(
        &path,
        unit.replace("/usr/bin/meet-agent", env!("CARGO_BIN_EXE_meet-agent")),
    )
    .unwrap();
    path
}

/// `systemd-analyze verify` of the unit files `units` (with the units beside them): whether
/// it succeeded, and what it said about them.
pub fn verify_units(units: &[PathBuf]) -> (bool, String) {
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg("--man=no")
        .args(units)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Debian's nginx, run in the foreground with a configuration of the test's; stopped with
/// SIGTERM on drop (SIGKILL would orphan its workers).
pub struct Nginx {
    child: std::process::Child,
    /// Its prefix folder (config, pid, error log).
    pub prefix: PathBuf,
}

impl Nginx {
    /// Starts nginx with `servers` (server blocks) inside its http block, and waits until
    /// `port` on 127.0.0.1 accepts connections.
    pub fn start(prefix: &Path, servers: &str, port: u16) -> Self {
        Self::start_with(prefix, "", servers, port)
    }

    /// Like [`Nginx::start`], with `main` (such as a stream block) in the main context.
    pub fn start_with(prefix: &Path, main: &str, servers: &str, port: u16) -> Self {
        let conf = Self::write_conf(prefix, main, servers);
        let child = std::process::Command::new("nginx")
            .arg("-p")
            .arg(prefix)
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off;"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nginx must be installed (apt-get install nginx-light)");
        let nginx = Self {
            child,
            prefix: prefix.to_path_buf(),
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "nginx did not listen: {}",
                nginx.error_log()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        nginx
    }

    /// Writes the test's nginx.conf into `prefix` and returns its path.
    pub fn write_conf(prefix: &Path, main: &str, servers: &str) -> PathBuf {
        std::fs::create_dir_all(prefix).unwrap();
        let p = prefix.display();
        let conf = prefix.join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                "pid {p}/nginx.pid;\nerror_log {p}/error.log;\n{main}\nevents {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {p}/tmp;\n{servers}\n}}\n"
            ),
        )
        .unwrap();
        conf
    }

    /// nginx's error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.prefix.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

/// Verifies the installed chain for `name` (a DNS name or IP address) against `root_pem`
/// with rustls's webpki verifier.
#[allow(dead_code)]
pub fn verify_installed(root: &Root, root_pem: &str, name: &str) -> Result<(), String> {
    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    meet_agent::install_crypto_provider();
    let chain =
        std::fs::read(root.join("/etc/meet-agent/tls/fullchain.pem")).map_err(|e| e.to_string())?;
    let certs: Vec<CertificateDer<'static>> = pem::parse_many(&chain)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|p| CertificateDer::from(p.into_contents()))
        .collect();
    let mut roots = rustls::RootCertStore::empty();
    for p in pem::parse_many(root_pem.as_bytes()).map_err(|e| e.to_string())? {
        roots
            .add(CertificateDer::from(p.into_contents()))
            .map_err(|e| e.to_string())?;
    }
    let verifier = rustls::client::WebPkiServerVerifier::builder(roots.into())
        .build()
        .map_err(|e| e.to_string())?;
    let (leaf, rest) = certs.split_first().ok_or("empty chain")?;
    verifier
        .verify_server_cert(
            leaf,
            rest,
            &ServerName::try_from(name.to_string()).map_err(|e| e.to_string())?,
            &[],
            UnixTime::now(),
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Asserts that `path` is 0640 and belongs to `group` where that group exists on this
/// machine, else 0600 (what the agent's `write_atomic_for_group` promises).
pub fn assert_group_readable(path: &Path, group: &str) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::metadata(path).unwrap();
    let mode = meta.permissions().mode() & 0o777;
    match nix::unistd::Group::from_name(group).unwrap() {
        Some(g) => {
            assert_eq!(mode, 0o640, "{}", path.display());
            assert_eq!(
                meta.gid(),
                g.gid.as_raw(),
                "{} not group {group}",
                path.display()
            );
        }
        None => assert_eq!(mode, 0o600, "{}", path.display()),
    }
}

/// The subject of the installed leaf certificate, as text.
#[allow(dead_code)]
pub fn installed_subject(root: &Root) -> String {
    let chain = std::fs::read(root.join("/etc/meet-agent/tls/fullchain.pem")).unwrap();
    let first = pem::parse_many(&chain).unwrap().remove(0);
    let (_, cert) = x509_parser::parse_x509_certificate(first.contents()).unwrap();
    cert.subject().to_string()
}

/// A root where `meet-agent user` can reach prosody's store: a prosody main file with the
/// site's host (internal_hashed, as secure-domain renders it) and the data folder below the
/// root, owned by prosody and reachable by its user.
pub fn prosody_user_store(root: &Root, domain: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    root.write(
        "/etc/prosody/prosody.cfg.lua",
        format!("modules_enabled = {{ }}\nVirtualHost \"{domain}\"\n    authentication = \"internal_hashed\"\n"),
    );
    let data = root.join("/var/lib/prosody");
    std::fs::create_dir_all(&data).unwrap();
    for dir in [root.join("/var"), root.join("/var/lib")] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let prosody = nix::unistd::User::from_name("prosody")
        .unwrap()
        .expect("prosody must be installed");
    nix::unistd::chown(&data, Some(prosody.uid), Some(prosody.gid)).unwrap();
}

/// Where tests/install-deps puts pyhocon (not packaged by Debian).
pub const PYHOCON: &str = "/var/cache/ryo-jitsi/pyhocon";

/// The HOCON file `file` as JSON, parsed by pyhocon (includes of absent files skipped, as
/// the components skip them).
pub fn pyhocon_json(file: &Path) -> serde_json::Value {
    let out = std::process::Command::new("/usr/bin/python3")
        .env("PYTHONPATH", PYHOCON)
        .args([
            "-c",
            "import sys; from pyhocon import ConfigFactory, HOCONConverter; \
             print(HOCONConverter.to_json(ConfigFactory.parse_file(sys.argv[1])))",
        ])
        .arg(file)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "pyhocon ({PYHOCON}, from tests/install-deps) cannot parse {}: {}",
        file.display(),
        text(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Waits for `child` at most `limit`; past it kills it and fails the test naming `what`
/// (a hang is a finding, not a slow test).
pub fn wait_bounded(
    mut child: std::process::Child,
    limit: std::time::Duration,
    what: &str,
) -> Output {
    let start = std::time::Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("{what} hung for {limit:?}: {}", text(&out));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The IMDSv2 token every IMDS stand-in hands out.
pub const IMDS_TOKEN: &str = "AQAEAtest-token==";

/// A stand-in for EC2's instance metadata service speaking the IMDSv2 token protocol
/// (moto serves no IMDS): reads without a valid token get 401, as the real service does
/// with IMDSv2 required. `fail_with` answers every request with that status; `hits`
/// counts every request.
pub fn imds_standin(
    values: std::collections::HashMap<&'static str, Vec<u8>>,
    fail_with: Option<u16>,
    hits: Option<Arc<std::sync::atomic::AtomicUsize>>,
) -> Handler {
    Arc::new(move |req, _body| {
        if let Some(hits) = &hits {
            hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
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
            return (200, IMDS_TOKEN.as_bytes().to_vec());
        }
        if req
            .headers()
            .get("x-aws-ec2-metadata-token")
            .map(|v| v.as_bytes())
            != Some(IMDS_TOKEN.as_bytes())
        {
            return (401, vec![]);
        }
        match values.get(path) {
            Some(v) => (200, v.clone()),
            None => (404, b"Not Found".to_vec()),
        }
    })
}

/// A network namespace made by a test (`ip netns add NAME`), deleted on drop so that a
/// failing test leaves none behind.
pub struct Ns(pub String);

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.0])
            .status();
    }
}

/// A Java properties file as `java.util.Properties.load` reads it (the subset a
/// generated file uses: `key=value` lines, comments, `\\`, `\ ` and `\uXXXX` escapes).
pub fn java_properties(text: &str) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let (key, raw) = line.split_once('=').expect("key=value");
        let mut value = String::new();
        let mut units: Vec<u16> = Vec::new();
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '\\' {
                value.push_str(&String::from_utf16(&units).expect("UTF-16"));
                units.clear();
                value.push(c);
                continue;
            }
            match chars.next().expect("an escape") {
                'u' => {
                    let hex: String = (0..4)
                        .map(|_| chars.next().expect("4 hex digits"))
                        .collect();
                    units.push(u16::from_str_radix(&hex, 16).expect("hex"));
                }
                other => {
                    value.push_str(&String::from_utf16(&units).expect("UTF-16"));
                    units.clear();
                    value.push(other);
                }
            }
        }
        value.push_str(&String::from_utf16(&units).expect("UTF-16"));
        out.insert(key.to_string(), value);
    }
    out
}
