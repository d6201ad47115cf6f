//! Debian's pebble and pebble-challtestsrv on 127.0.0.1, as DESIGN.md describes: our own
//! CA and listener certificate for pebble's directory, challtestsrv as pebble's DNS with no
//! default answers, and the issuing root fetched from the management port.
#![allow(dead_code)] // each test binary uses a different part of the shared harness

use crate::common::free_port;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running pebble + challtestsrv pair.
pub struct Pebble {
    _pebble: Proc,
    _challtestsrv: Proc,
    pub dir: tempfile::TempDir,
    /// The ACME directory URL.
    pub directory: String,
    /// PEM of the CA that signed pebble's own HTTPS listener (tls.acme.ca_root).
    pub listener_root: PathBuf,
    /// Port pebble validates http-01 on (the agent's responder listens there).
    pub http_port: u16,
    /// Port pebble validates tls-alpn-01 on.
    pub tls_port: u16,
    /// challtestsrv's DNS port (pebble resolves through it unless told otherwise).
    pub dns_port: u16,
    management: u16,
    challtest_mgmt: u16,
}

/// How to start pebble.
#[derive(Default)]
pub struct Options {
    /// PEBBLE_WFE_NONCEREJECT: percent of good nonces refused.
    pub nonce_reject: u8,
    /// Require External Account Binding with this key id and base64url HMAC key.
    pub eab: Option<(String, String)>,
    /// Resolve through this DNS server (127.0.0.1:port) instead of challtestsrv.
    pub dns_server: Option<u16>,
    /// More addresses pebble's HTTPS listener certificate names (a QEMU guest reaches
    /// pebble at its guestfwd address).
    pub listener_ips: Vec<String>,
}

fn wait_for(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listens on 127.0.0.1:{port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Pebble {
    /// Starts both; `nonce_reject` is PEBBLE_WFE_NONCEREJECT (percent of good nonces refused).
    pub fn start(nonce_reject: u8) -> Self {
        Self::start_with(Options {
            nonce_reject,
            ..Options::default()
        })
    }

    /// Starts both with `options`.
    pub fn start_with(options: Options) -> Self {
        let nonce_reject = options.nonce_reject;
        let dir = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name
            .push(DnType::CommonName, "pebble listener CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca.clone().self_signed(&ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let listener = CertificateParams::new(
            ["127.0.0.1", "localhost"]
                .iter()
                .map(|s| s.to_string())
                .chain(options.listener_ips.iter().cloned())
                .collect::<Vec<_>>(),
        )
        .unwrap()
        .signed_by(&key, &Issuer::new(ca, &ca_key))
        .unwrap();
        let listener_root = dir.path().join("listener-ca.pem");
        std::fs::write(&listener_root, ca_cert.pem()).unwrap();
        std::fs::write(dir.path().join("cert.pem"), listener.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).unwrap();

        let (acme, management, http_port, tls_port) =
            (free_port(), free_port(), free_port(), free_port());
        let (dns, challtest_mgmt) = (free_port(), free_port());
        let config = serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{acme}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": dir.path().join("cert.pem"),
            "privateKey": dir.path().join("key.pem"),
            "httpPort": http_port,
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": options.eab.is_some(),
            "externalAccountMACKeys": options.eab.iter().map(|(kid, key)| (kid.clone(), serde_json::Value::from(key.clone()))).collect::<serde_json::Map<_, _>>()
        }});
        std::fs::write(dir.path().join("pebble.json"), config.to_string()).unwrap();

        let log = |name: &str| Stdio::from(std::fs::File::create(dir.path().join(name)).unwrap());
        let challtestsrv = Proc(
            Command::new("pebble-challtestsrv")
                .args([
                    "-dns01",
                    &format!("127.0.0.1:{dns}"),
                    "-http01",
                    "",
                    "-https01",
                    "",
                    "-tlsalpn01",
                    "",
                ])
                .args([
                    "-management",
                    &format!("127.0.0.1:{challtest_mgmt}"),
                    "-defaultIPv4",
                    "",
                    "-defaultIPv6",
                    "",
                ])
                .stdout(log("challtestsrv.log"))
                .stderr(log("challtestsrv.err"))
                .spawn()
                .expect("pebble-challtestsrv must be installed (apt-get install pebble)"),
        );
        let pebble = Proc(
            Command::new("pebble")
                .arg("-config")
                .arg(dir.path().join("pebble.json"))
                .args([
                    "-dnsserver",
                    &format!("127.0.0.1:{}", options.dns_server.unwrap_or(dns)),
                ])
                .env("PEBBLE_VA_NOSLEEP", "1")
                .env("PEBBLE_AUTHZREUSE", "0")
                .env("PEBBLE_WFE_NONCEREJECT", nonce_reject.to_string())
                .stdout(log("pebble.log"))
                .stderr(log("pebble.err"))
                .spawn()
                .expect("pebble must be installed (apt-get install pebble)"),
        );
        wait_for(acme);
        wait_for(challtest_mgmt);
        Self {
            _pebble: pebble,
            _challtestsrv: challtestsrv,
            directory: format!("https://127.0.0.1:{acme}/dir"),
            listener_root,
            http_port,
            tls_port,
            dns_port: dns,
            management,
            challtest_mgmt,
            dir,
        }
    }

    /// Makes `host` resolve to 127.0.0.1 in challtestsrv (clear, then add: /add-a appends).
    pub fn point_at_loopback(&self, host: &str) {
        set_a(self.challtest_mgmt, host, "127.0.0.1");
    }

    /// Makes `host` resolve to `ip` only.
    pub fn set_a(&self, host: &str, ip: &str) {
        set_a(self.challtest_mgmt, host, ip);
    }

    /// pebble's ACME port.
    pub fn acme_port(&self) -> u16 {
        self.directory
            .trim_end_matches("/dir")
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("the directory URL ends in :PORT/dir")
    }

    /// challtestsrv's management port (what the DDNS stand-in drives).
    pub fn challtest_management(&self) -> u16 {
        self.challtest_mgmt
    }

    /// Whether pebble has seen a new-order request (it logs each request path).
    pub fn orders(&self) -> usize {
        let log = std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default();
        log.lines().filter(|l| l.contains("order-plz")).count()
    }

    /// PEM of the root that issues certificates (changes at every pebble start).
    pub fn issuing_root(&self) -> String {
        let out = Command::new("curl")
            .args(["-sfk"])
            .arg(format!("https://127.0.0.1:{}/roots/0", self.management))
            .output()
            .expect("curl");
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    }

    /// How many certificates pebble has issued (it logs one line per issuance).
    pub fn issued(&self) -> usize {
        let log = std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default();
        log.lines()
            .filter(|l| l.contains("Issued certificate serial"))
            .count()
    }

    /// meet-agent configuration for this CA.
    pub fn agent_config(&self, domain: &str) -> String {
        format!(
            "[source]\nprovider = \"none\"\n[server]\ndomain = \"{domain}\"\npublic_ipv4 = \"127.0.0.1\"\n[dns.wait]\nresolvers = [\"127.0.0.1:{dns}\"]\nnameservers = [\"127.0.0.1:{dns}\"]\ntimeout_seconds = 10\n[tls.acme]\nenabled = true\ndirectory = \"{}\"\nca_root = \"{}\"\nhttp_listen = \"127.0.0.1:{}\"\ntimeout_seconds = 30\n",
            self.directory,
            self.listener_root.display(),
            self.http_port,
            dns = self.dns_port,
        )
    }
}

/// Replaces the A records of `host` in the challtestsrv managed on `mgmt` (clear, then add:
/// /add-a appends).
pub fn set_a(mgmt: u16, host: &str, ip: &str) {
    let fqdn = format!("{}.", host.trim_end_matches('.'));
    challtest(mgmt, "/clear-a", serde_json::json!({"host": fqdn}));
    challtest(
        mgmt,
        "/add-a",
        serde_json::json!({"host": fqdn, "addresses": [ip]}),
    );
}

fn challtest(mgmt: u16, path: &str, body: serde_json::Value) {
    let out = Command::new("curl")
        .args(["-sf", "-X", "POST", "-d", &body.to_string()])
        .arg(format!("http://127.0.0.1:{mgmt}{path}"))
        .output()
        .expect("curl");
    assert!(out.status.success(), "challtestsrv {path} failed");
}
