//! The boot-test harness: boots the offline-built image under QEMU with user networking
//! restricted to the guest (`restrict=on`), hands it configuration through fw_cfg, and reads
//! its report from a virtio-serial port. Only loopback is ever contacted on the host side.

pub mod gce_metadata;
pub mod imds;
pub mod lxd;
pub mod relay;

use anyhow::{anyhow, bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The CPU model guests get under TCG (`RYO_QEMU_CPU`, default `qemu64`). The plain x86-64
/// model, not `max`: with `max` the guest's libraries take their AVX and AES-NI paths,
/// which TCG emulates more slowly than the SSE2 ones; boots of the same image were about a
/// sixth faster (boot-to-ready 24.3 to 26.2 s against 29.5 to 31.8 s, interleaved, three
/// each, 2026-12-05), and the suite boots a dozen guests. bench/boot-to-ready.sh sets `max`,
/// the model issue 23's figures were measured with.
pub fn tcg_cpu() -> String {
    std::env::var("RYO_QEMU_CPU").unwrap_or_else(|_| "qemu64".into())
}

/// Where the offline build put its outputs (`RYO_IMAGE_DIR`, default `build/image`).
pub fn image_dir() -> Result<PathBuf> {
    let dir = std::env::var_os("RYO_IMAGE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../build/image"));
    checked_image_dir(dir, "bash image/offline/build")
}

/// The Debian 13 image with cloud-init (`build/image-trixie`, or `RYO_TRIXIE_IMAGE_DIR`),
/// made by `OUT=build/image-trixie bash image/offline/build --suite trixie --cloud-init`.
pub fn trixie_image_dir() -> Result<PathBuf> {
    let dir = std::env::var_os("RYO_TRIXIE_IMAGE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../build/image-trixie"));
    checked_image_dir(
        dir,
        "OUT=build/image-trixie bash image/offline/build --suite trixie --cloud-init",
    )
}

/// The recorder image (`build/image-recorder`, or `RYO_RECORDER_IMAGE_DIR`), made by
/// `OUT=build/image-recorder bash image/offline/build --role recorder --uncompressed`.
pub fn recorder_image_dir() -> Result<PathBuf> {
    let dir = std::env::var_os("RYO_RECORDER_IMAGE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../build/image-recorder")
        });
    checked_image_dir(
        dir,
        "OUT=build/image-recorder bash image/offline/build --role recorder --uncompressed",
    )
}

fn checked_image_dir(dir: PathBuf, build: &str) -> Result<PathBuf> {
    for f in ["ryo-jitsi.qcow2", "vmlinuz", "initrd.img"] {
        if !dir.join(f).exists() {
            bail!(
                "{} is missing: build the image first with `{build}` (tests/run does)",
                dir.join(f).display()
            );
        }
    }
    Ok(dir)
}

/// The qcow2 the Packer qemu template made (`packer/run-qemu-offline`).
pub fn packer_image() -> Result<PathBuf> {
    let path = std::env::var_os("RYO_PACKER_IMAGE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../build/packer-qemu/ryo-jitsi.qcow2")
        });
    if !path.exists() {
        bail!(
            "{} is missing: run `bash image/offline/packer-base && bash packer/run-qemu-offline` (tests/run does)",
            path.display()
        );
    }
    Ok(path)
}

/// Whether this CPU offers hardware virtualisation that KVM can use.
pub fn kvm_usable() -> bool {
    Path::new("/dev/kvm").exists()
        && std::fs::read_to_string("/proc/cpuinfo")
            .map(|c| c.contains(" vmx") || c.contains(" svm"))
            .unwrap_or(false)
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// What a boot is given.
pub struct BootSpec {
    /// meet-agent TOML handed in through fw_cfg `opt/meet-agent/config`.
    pub config: Option<String>,
    /// meet-agent TOML handed in as `meet-agent.toml` on a vfat disk labelled CIDATA.
    pub config_disk: Option<String>,
    /// Files (name, content) on a vfat disk labelled CIDATA, as cloud-init's NoCloud
    /// source reads it (`user-data`, `meta-data`); with `config_disk`, on the same disk.
    pub cidata_files: Vec<(String, String)>,
    /// The folder holding the image to boot (default: [`image_dir`]).
    pub image_dir: Option<PathBuf>,
    /// Memory in MiB.
    pub memory_mib: u32,
    /// Host port forwarded to the guest's 80 (default: a free one). A local ACME CA that
    /// validates http-01 needs to know it in advance.
    pub http_port: Option<u16>,
    /// Host services the guest reaches: `(guest port, host port)` makes
    /// `GUEST_HOST:guest port` in the guest connect to `127.0.0.1:host port` (TCP only).
    pub guestfwd: Vec<(u16, u16)>,
    /// Boot this disk instead of a throwaway overlay: made as an overlay of the image when
    /// it does not exist, booted as it is when it does (the reboot scenario).
    pub disk: Option<PathBuf>,
    /// More guest TCP ports to forward from the host (each to a free host port, see
    /// [`Guest::forwarded`]), to probe what the guest's firewall lets in.
    pub hostfwd: Vec<u16>,
    /// Look like an EC2 instance: DMI vendor "Amazon EC2", a link-local guest network, and
    /// the host services (the metadata stand-in on guest port 80) at [`EC2_METADATA`].
    pub ec2: bool,
    /// Look like a Compute Engine instance: DMI product "Google Compute Engine" and BIOS
    /// vendor "Google", and the same link-local network as `ec2` (Compute Engine's
    /// metadata server is also at [`EC2_METADATA`], port 80).
    pub gce: bool,
}

/// Where an EC2 guest finds its host services: the instance metadata address.
pub const EC2_METADATA: &str = "169.254.169.254";

/// The address host services appear at inside the guest (QEMU user networking's
/// `guestfwd`).
pub const GUEST_HOST: &str = "10.0.2.100";

impl Default for BootSpec {
    fn default() -> Self {
        Self {
            config: None,
            config_disk: None,
            cidata_files: Vec::new(),
            image_dir: None,
            memory_mib: 1536,
            http_port: None,
            guestfwd: Vec::new(),
            hostfwd: Vec::new(),
            disk: None,
            ec2: false,
            gce: false,
        }
    }
}

/// A certificate for a domain from a throwaway CA, as PEM.
pub struct TestCertificate {
    /// The CA's root, to verify against.
    pub root_pem: String,
    /// The leaf.
    pub chain_pem: String,
    /// The leaf's key.
    pub key_pem: String,
}

impl TestCertificate {
    /// meet-agent configuration for `domain` supplying this certificate gzip+base64
    /// encoded, as the CloudFormation template's helper made it.
    pub fn gzip_base64_config(&self, domain: &str) -> String {
        let encode = |pem: &str| {
            meet_agent::encoding::gzip_base64(pem.as_bytes()).expect("gzip into memory")
        };
        format!(
            "[server]\ndomain = \"{domain}\"\n[tls]\ncertificate = \"{}\"\nkey = \"{}\"\n",
            encode(&self.chain_pem),
            encode(&self.key_pem)
        )
    }
}

/// Makes a CA and a certificate from it for `domain`.
pub fn test_certificate(domain: &str) -> TestCertificate {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.distinguished_name
        .push(DnType::CommonName, "Boot Test Root");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let root = ca.clone().self_signed(&ca_key).expect("root");
    let key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec![domain.to_string()])
        .expect("params")
        .signed_by(&key, &Issuer::new(ca, &ca_key))
        .expect("leaf");
    TestCertificate {
        root_pem: root.pem(),
        chain_pem: leaf.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// The domain of the ACME boot scenarios.
pub const ACME_DOMAIN: &str = "meet.example.test";

/// A boot on the ACME path against a local pebble and challtestsrv: the guest's address
/// as pebble sees it is loopback (pebble validates http-01 through the hostfwd on
/// `http_port`); dynamic DNS goes to challtestsrv's own HTTP API (`dns_api_port`), the DNS
/// wait asks challtestsrv (`dns_port`) over TCP, and the CA (`ca_port`) is trusted through
/// Boot scenarios that assert a healthy server turn the first-boot security updates off:
/// the guests reach no package mirror (restrict=on), which the updates step rightly
/// reports as degraded. qemu_operations.rs keeps them on and checks that report.
pub const NO_FIRST_BOOT_UPDATES: &str = "[updates]\nfirst_boot = false\n";

/// `ca_root_pem`. Each host service appears in the guest at [`GUEST_HOST`].
pub fn acme_boot_spec(
    ca_root_pem: &str,
    http_port: u16,
    ca_port: u16,
    dns_port: u16,
    dns_api_port: u16,
    disk: Option<PathBuf>,
) -> BootSpec {
    const CA: u16 = 14000;
    const DNS: u16 = 53;
    const DNS_API: u16 = 8055;
    let config = format!(
        r#"[server]
domain = "{ACME_DOMAIN}"
public_ipv4 = "127.0.0.1"
[[dns.update]]
type = "url"
url = "http://{GUEST_HOST}:{DNS_API}/add-a"
method = "POST"
body = '{{"host": "{{domain}}.", "addresses": ["{{ip}}"]}}'
[dns.wait]
resolvers = ["{GUEST_HOST}:{DNS}"]
nameservers = ["{GUEST_HOST}:{DNS}"]
protocol = "tcp"
timeout_seconds = 60
[tls.acme]
enabled = true
directory = "https://{GUEST_HOST}:{CA}/dir"
ca_root = """
{ca_root_pem}"""
timeout_seconds = 60
{NO_FIRST_BOOT_UPDATES}"#
    );
    BootSpec {
        config: Some(config),
        http_port: Some(http_port),
        guestfwd: vec![(CA, ca_port), (DNS, dns_port), (DNS_API, dns_api_port)],
        disk,
        ..BootSpec::default()
    }
}

/// A running guest; killed and its files removed on drop.
pub struct Guest {
    child: Child,
    /// Folder holding the overlay disk, serial log and report.
    pub dir: tempfile::TempDir,
    /// Host port forwarded to the guest's 443.
    pub https_port: u16,
    /// Host port forwarded to the guest's 80.
    pub http_port: u16,
    /// `(guest port, host port)` for each of [`BootSpec::hostfwd`].
    pub forwarded: Vec<(u16, u16)>,
    /// The relay in front of the forward to the guest's 80, when pebble validates there.
    _http_relay: Option<relay::Relay>,
    /// When QEMU was started (the second start when the first kernel stalled).
    pub started: Instant,
    /// How often QEMU was started again because the guest kernel stalled before init.
    pub kernel_restarts: u32,
    /// The host's instant at the guest kernel's clock zero, from the console line that
    /// showed init starting (its timestamp, and when this process saw it; the console is
    /// read every 20 ms until then): where the guest's monotonic times (the report's) fall
    /// on the host's clock. None when that line had no timestamp.
    pub kernel_zero: Option<Instant>,
}

/// How long a guest kernel's console may stay silent before init starts.
const KERNEL_STALL: Duration = Duration::from_secs(60);

/// Console lines that show the kernel has handed over to userspace (the initramfs or
/// systemd).
const INIT_MARKERS: &[&str] = &[
    "Run /init as init process",
    "Run /sbin/init",
    "systemd[1]:",
    "Welcome to ",
];

/// Starts QEMU with its messages in DIR/qemu.log (appended, so a second start keeps the
/// first one's).
fn spawn_qemu(cmd: &mut Command, dir: &Path) -> Result<Child> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("qemu.log"))?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .context("qemu-system-x86_64 is missing (apt-get install qemu-system-x86)")
}

impl Guest {
    /// Boots a throwaway overlay of `disk` (or of the built image when `None`).
    pub fn boot(spec: &BootSpec, disk: Option<&Path>) -> Result<Self> {
        let images = match &spec.image_dir {
            Some(dir) => dir.clone(),
            None => image_dir()?,
        };
        let dir = tempfile::tempdir()?;
        let base = match disk {
            Some(d) => d.to_path_buf(),
            None => images.join("ryo-jitsi.qcow2"),
        };
        let overlay = spec
            .disk
            .clone()
            .unwrap_or_else(|| dir.path().join("overlay.qcow2"));
        if !overlay.exists() {
            let status = Command::new("qemu-img")
                .args(["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b"])
                .arg(&base)
                .arg(&overlay)
                .status()
                .context("qemu-img is missing (apt-get install qemu-utils)")?;
            if !status.success() {
                bail!("qemu-img could not make an overlay of {}", base.display());
            }
        }
        let https_port = free_port()?;
        // Where pebble validates HTTP-01 (spec.http_port), a relay takes the connections and
        // hands them to QEMU's forward (see relay.rs: QEMU listens with a backlog of one).
        let (http_port, qemu_http_port, relay) = match spec.http_port {
            Some(port) => {
                let qemu_port = free_port()?;
                (port, qemu_port, Some(relay::Relay::start(port, qemu_port)?))
            }
            None => {
                let port = free_port()?;
                (port, port, None)
            }
        };
        // A `tcp:` chardev would be one connection, made at QEMU's start; `cmd:` runs a
        // program for each connection the guest opens: a script that hands it to socat and
        // logs socat's complaints for the diagnostics.
        let (fwd_ip, net) = if spec.ec2 || spec.gce {
            // guestfwd addresses must lie inside the guest network.
            (EC2_METADATA, ",net=169.254.0.0/16")
        } else {
            (GUEST_HOST, "")
        };
        let mut guestfwd = String::new();
        let mut forwarded = Vec::new();
        for &guest in &spec.hostfwd {
            let host = free_port()?;
            guestfwd.push_str(&format!(",hostfwd=tcp:127.0.0.1:{host}-:{guest}"));
            forwarded.push((guest, host));
        }
        for (guest, host) in &spec.guestfwd {
            let script = dir.path().join(format!("fwd-{guest}.sh"));
            std::fs::write(
                &script,
                format!(
                    "#!/bin/sh\nexec socat STDIO TCP:127.0.0.1:{host} 2>>{}\n",
                    dir.path().join("guestfwd.log").display()
                ),
            )?;
            std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
            guestfwd.push_str(&format!(
                ",guestfwd=tcp:{fwd_ip}:{guest}-cmd:{}",
                script.display()
            ));
        }
        let mut cmd = Command::new("qemu-system-x86_64");
        if kvm_usable() {
            cmd.args(["-accel", "kvm", "-cpu", "host"]);
        } else {
            cmd.args(["-accel", "tcg,thread=multi", "-cpu", &tcg_cpu()]);
        }
        cmd.args(["-machine", "q35", "-smp", "2", "-m", &spec.memory_mib.to_string()])
            .args(["-display", "none", "-no-reboot", "-nodefaults"])
            .arg("-kernel")
            .arg(images.join("vmlinuz"))
            .arg("-initrd")
            .arg(images.join("initrd.img"))
            .args(["-append", "root=LABEL=ryo-root rw console=ttyS0 panic=-1 systemd.show_status=1"])
            .arg("-drive")
            .arg(format!("file={},if=virtio,format=qcow2", overlay.display()))
            .arg("-netdev")
            .arg(format!(
                "user,id=n0,restrict=on{net},hostfwd=tcp:127.0.0.1:{https_port}-:443,hostfwd=tcp:127.0.0.1:{qemu_http_port}-:80{guestfwd}"
            ))
            .args(["-device", "virtio-net-pci,netdev=n0"])
            .args(if spec.ec2 {
                &["-smbios", "type=1,manufacturer=Amazon EC2,product=c6i.large"][..]
            } else if spec.gce {
                &[
                    "-smbios",
                    "type=0,vendor=Google",
                    "-smbios",
                    "type=1,manufacturer=Google,product=Google Compute Engine",
                ][..]
            } else {
                &[][..]
            })
            .arg("-serial")
            .arg(format!("file:{}", dir.path().join("serial.log").display()))
            .args(["-device", "virtio-serial"])
            .arg("-chardev")
            .arg(format!("file,id=report,path={}", dir.path().join("report.txt").display()))
            .args(["-device", "virtserialport,chardev=report,name=org.ryo-jitsi.report"]);
        if let Some(config) = &spec.config {
            let path = dir.path().join("config.toml");
            std::fs::write(&path, config)?;
            cmd.arg("-fw_cfg").arg(format!(
                "name=opt/meet-agent/config,file={}",
                path.display()
            ));
        }
        let mut cidata = spec.cidata_files.clone();
        if let Some(config) = &spec.config_disk {
            cidata.push(("meet-agent.toml".into(), config.clone()));
        }
        if !cidata.is_empty() {
            let disk = config_disk(dir.path(), &cidata)?;
            cmd.arg("-drive").arg(format!(
                "file={},if=virtio,format=raw,readonly=on",
                disk.display()
            ));
        }
        let child = spawn_qemu(&mut cmd, dir.path())?;
        let mut guest = Self {
            child,
            dir,
            https_port,
            http_port,
            forwarded,
            _http_relay: relay,
            started: Instant::now(),
            kernel_restarts: 0,
            kernel_zero: None,
        };
        guest.until_init(&mut cmd)?;
        Ok(guest)
    }

    /// Waits until the guest's kernel hands over to init. A kernel whose console stays
    /// silent for [`KERNEL_STALL`] before that point is an emulator hang, not the
    /// product's doing (seen once in CI: the reboot of the ACME scenario stopped at 1.3 s
    /// of kernel time, right after "Switched to clocksource hpet", for 240 s). QEMU is then
    /// started once more on the same disk (nothing has mounted it yet), loudly, and the
    /// stalled console is kept for the diagnostics. A second stall is an error.
    fn until_init(&mut self, cmd: &mut Command) -> Result<()> {
        let serial = self.dir.path().join("serial.log");
        let mut last_len = 0;
        let mut last_growth = Instant::now();
        loop {
            let text = std::fs::read(&serial).unwrap_or_default();
            if let Some(line) = String::from_utf8_lossy(&text)
                .lines()
                .find(|l| INIT_MARKERS.iter().any(|m| l.contains(m)))
            {
                self.kernel_zero = console_time(line)
                    .and_then(|t| Instant::now().checked_sub(Duration::from_secs_f64(t)));
                return Ok(());
            }
            if self.child.try_wait()?.is_some() {
                // The callers report a QEMU that exited, with its log.
                return Ok(());
            }
            if text.len() != last_len {
                last_len = text.len();
                last_growth = Instant::now();
            } else if last_growth.elapsed() > KERNEL_STALL {
                let kept = self
                    .dir
                    .path()
                    .join(format!("serial-stalled-{}.log", self.kernel_restarts + 1));
                let tail = String::from_utf8_lossy(&text)
                    .lines()
                    .last()
                    .unwrap_or("")
                    .to_string();
                if self.kernel_restarts > 0 {
                    bail!(
                        "the guest kernel stalled again before init (console silent for \
                         {KERNEL_STALL:?}, last line {tail:?}); {}",
                        self.diagnostics()
                    );
                }
                eprintln!(
                    "WARNING: the guest kernel stalled before init (console silent for \
                     {KERNEL_STALL:?}, last line {tail:?}); an emulator hang, restarting \
                     QEMU once (console kept in {})",
                    kept.display()
                );
                let _ = self.child.kill();
                let _ = self.child.wait();
                std::fs::rename(&serial, &kept)?;
                self.child = spawn_qemu(cmd, self.dir.path())?;
                self.started = Instant::now();
                self.kernel_restarts += 1;
                last_len = 0;
                last_growth = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The guest's serial console so far.
    pub fn serial(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serial.log")).unwrap_or_default()
    }

    /// What a client on the host sees of the guest's TCP `port` (one of
    /// [`BootSpec::hostfwd`]): QEMU accepts on the host side at once and then opens the
    /// connection to the guest, so a port the guest answers with a reset (nothing listens)
    /// reads as end of stream, and a port whose SYN the guest's firewall drops reads as
    /// silence until QEMU gives up.
    pub fn probe_tcp(&self, port: u16, wait: Duration) -> Result<Probe> {
        use std::io::{Read, Write};
        let host = self
            .forwarded
            .iter()
            .find(|(guest, _)| *guest == port)
            .map(|(_, host)| *host)
            .ok_or_else(|| anyhow!("guest port {port} is not forwarded (BootSpec::hostfwd)"))?;
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", host))?;
        stream.set_read_timeout(Some(wait))?;
        // Some servers speak only when spoken to (HTTP); SSH speaks first.
        let _ = stream.write_all(b"HEAD / HTTP/1.0\r\n\r\n");
        let mut buf = [0u8; 64];
        Ok(match stream.read(&mut buf) {
            Ok(0) => Probe::Closed,
            Ok(n) => Probe::Answered(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Probe::Silent
            }
            Err(_) => Probe::Closed,
        })
    }

    /// Waits for the guest's report (status JSON and failed units) until `timeout`.
    pub fn report(&mut self, timeout: Duration) -> Result<Report> {
        let path = self.dir.path().join("report.txt");
        let deadline = Instant::now() + timeout;
        loop {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.contains("=== end") {
                return Report::parse(&text);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                bail!(
                    "QEMU exited ({status}) before the report; {}",
                    self.diagnostics()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "no report from the guest within {timeout:?}; {}",
                    self.diagnostics()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits for HTTPS that verifies for `domain` against `root_pem`, then for the guest's
    /// report. Returns the page, the time from QEMU's start to that first verified answer,
    /// and the report; an error carries the guest's serial log.
    pub async fn serve_then_report(&mut self, domain: &str, root_pem: &str) -> Result<Served> {
        let (body, ready_at) =
            wait_https(domain, self.https_port, root_pem, Duration::from_secs(240))
                .await
                .map_err(|e| anyhow!("{e:#}\n{}", self.diagnostics()))?;
        let report = self.report(Duration::from_secs(120))?;
        Ok(Served {
            body,
            boot_to_ready: ready_at - self.started,
            answered: ready_at,
            report,
        })
    }

    /// The tail of the serial log and QEMU's own messages, for failure messages.
    pub fn diagnostics(&self) -> String {
        let serial = self.serial();
        let tail: Vec<&str> = serial.lines().rev().take(60).collect();
        let qemu = std::fs::read_to_string(self.dir.path().join("qemu.log")).unwrap_or_default();
        let fwd = std::fs::read_to_string(self.dir.path().join("guestfwd.log")).unwrap_or_default();
        format!(
            "serial console (last 60 lines):\n{}\nqemu: {qemu}\nguestfwd: {fwd}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }

    /// Waits until QEMU exits by itself (the guest powered off), up to `timeout`; returns
    /// how long after QEMU's start that was.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<Duration> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(self.started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Err(anyhow!(
            "the guest did not power off within {timeout:?}\n{}",
            self.diagnostics()
        ))
    }

    /// Asks the guest to power off (ACPI) and waits, killing it after `timeout`.
    pub fn shut_down(mut self, timeout: Duration) -> Result<()> {
        // No monitor is attached; SIGTERM makes QEMU stop the guest like pulling the plug
        // after flushing its disks, which is what the reboot scenario needs.
        let pid = self.child.id();
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(anyhow!("QEMU did not stop within {timeout:?}"))
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Makes a small vfat disk labelled CIDATA holding `files` (name, content), with mtools (no
/// loop mount needed).
fn config_disk(dir: &Path, files: &[(String, String)]) -> Result<PathBuf> {
    let disk = dir.join("cidata.img");
    let run = |cmd: &mut Command| -> Result<()> {
        let out = cmd
            .output()
            .with_context(|| format!("{cmd:?} (apt-get install dosfstools mtools)"))?;
        if !out.status.success() {
            bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    };
    run(Command::new("mkfs.vfat")
        .args(["-C", "-n", "CIDATA"])
        .arg(&disk)
        .arg("2048"))?;
    let staged = dir.join("cidata");
    std::fs::create_dir_all(&staged)?;
    for (name, content) in files {
        let file = staged.join(name);
        std::fs::write(&file, content)?;
        run(Command::new("mcopy")
            .arg("-i")
            .arg(&disk)
            .arg(&file)
            .arg(format!("::{name}")))?;
    }
    Ok(disk)
}

/// What a host-side client saw of a forwarded guest port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// The guest answered; the first bytes.
    Answered(String),
    /// End of stream or reset: the guest refused the connection.
    Closed,
    /// No answer and no refusal: the guest's firewall dropped it.
    Silent,
}

/// What a boot served and reported.
pub struct Served {
    /// The HTTPS page.
    pub body: String,
    /// QEMU start to the first verified HTTPS answer.
    pub boot_to_ready: Duration,
    /// When the first verified HTTPS answer came.
    pub answered: Instant,
    /// The guest's report.
    pub report: Report,
}

impl Report {
    /// The status record of step `name`.
    pub fn step(&self, name: &str) -> &serde_json::Value {
        self.status["steps"]
            .as_array()
            .and_then(|steps| steps.iter().find(|s| s["name"] == name))
            .unwrap_or_else(|| panic!("no step {name} in {:#}", self.status))
    }

    /// Asserts the healthy end state every boot scenario needs: status healthy, no failed unit.
    pub fn assert_healthy(&self) {
        assert_eq!(self.status["health"], "healthy", "{:#}", self.status);
        assert!(
            self.failed_units.is_empty(),
            "failed units: {:?}\n{}\n{:#}",
            self.failed_units,
            self.failed_unit_logs.join("\n"),
            self.status
        );
    }

    /// Asserts the offline image's boot-time choices: IPv6 duplicate address detection off
    /// (its random delay of up to 1 s held network-online.target, and meet-agent, back), so
    /// that the DHCP link's link-local address comes with its carrier; and the API file
    /// systems provision.sh masks neither loaded nor mounted; no udev in the initramfs (no
    /// device set up before systemd started); and the CPU-feature modules the appliance
    /// does not use (the kernel's crypto for AES-NI, PCLMULQDQ and SSSE3, and KVM) kept
    /// from udev's alias loading.
    pub fn assert_boot_choices(&self) {
        let settings = self.boot_settings.join("\n");
        for key in ["all", "default"] {
            let line = format!("net.ipv6.conf.{key}.accept_dad = 0");
            assert!(
                self.boot_settings.iter().any(|l| l.trim() == line),
                "the report lacks `{line}`:\n{settings}"
            );
        }
        let setting = |prefix: &str| {
            self.boot_settings
                .iter()
                .find_map(|l| l.trim().strip_prefix(prefix))
                .map(str::trim)
                .unwrap_or_else(|| panic!("the report lacks `{prefix}`:\n{settings}"))
        };
        // "N of ALL (systemd at US us)": ALL and US above 0, so that a failed udevadm or
        // systemctl cannot pass for "none before systemd".
        let counts: Vec<u64> = setting("devices udev set up before systemd started:")
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect();
        let [before, all, userspace] = counts[..] else {
            panic!("cannot read the udev counts:\n{settings}");
        };
        assert!(
            all > 0 && userspace > 0,
            "no udev devices or no systemd start time:\n{settings}"
        );
        assert_eq!(before, 0, "udev ran in the initramfs:\n{settings}");
        let modules = setting("cpu feature modules udev would load:");
        assert!(
            modules.is_empty(),
            "udev would load {modules} for a CPU with AES-NI, PCLMULQDQ, SSSE3, VMX or SVM:\n{settings}"
        );
        let loaded = setting("unused cpu feature modules loaded:");
        assert!(loaded.is_empty(), "{loaded} loaded:\n{settings}");
        let timeline = self.boot.join("\n");
        for unit in [
            "dev-hugepages.mount",
            "dev-mqueue.mount",
            "sys-kernel-debug.mount",
            "sys-kernel-tracing.mount",
        ] {
            assert!(
                self.boot_settings
                    .iter()
                    .any(|l| l.trim() == format!("{unit} masked")),
                "{unit} is not masked:\n{settings}"
            );
            assert!(
                !timeline.contains(&format!("Mounted {unit}")),
                "{unit} is masked in the image but was mounted:\n{timeline}"
            );
        }
        // And what the setting is for, with a margin for a loaded host (0.03 to 0.17 s
        // measured; a uniform 0 to 1 s without the setting).
        let at = |what: &str| {
            self.boot
                .iter()
                .find(|l| l.contains(": en") && l.contains(what))
                .and_then(|l| console_time(l))
        };
        let (Some(carrier), Some(ipv6ll)) = (at("Gained carrier"), at("Gained IPv6LL")) else {
            panic!("the timeline lacks the link's carrier or IPv6LL line:\n{timeline}");
        };
        assert!(
            ipv6ll - carrier < 0.5,
            "IPv6LL came {:.2} s after the carrier:\n{timeline}",
            ipv6ll - carrier
        );
    }
}

impl Report {
    /// Asserts the end state of a JWT scenario on an image without Jitsi's plugins (every
    /// image these machines can build): no failed unit, the jitsi step's own check found that
    /// prosody's Lua 5.4 loads basexx, cjson.safe, openssl.hmac and inspect and, with them,
    /// verifies a token signed with [`JWT_CONFIG`]'s secret and refuses a forged one; and the
    /// missing plugins are the only reason the server is not healthy.
    pub fn assert_jwt_checked_and_otherwise_healthy(&self) {
        let jitsi = self.step("jitsi")["message"].as_str().unwrap_or("");
        assert!(
            jitsi.contains(
                "JWT: prosody's Lua 5.4 verifies a token signed with jitsi.jwt_app_secret and refuses a forged one"
            ),
            "the jitsi step did not verify a token in prosody's Lua: {jitsi}"
        );
        let reasons: Vec<&str> = self.status["reasons"]
            .as_array()
            .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        let expected = "jitsi: JWT authentication needs Jitsi's prosody plugins (jitsi-meet-prosody), which this image lacks";
        assert!(
            reasons.iter().all(|r| r.starts_with(expected)) && reasons.len() == 1,
            "the missing plugins must be the only reason: {:#}",
            self.status
        );
        assert!(
            self.failed_units.is_empty(),
            "failed units: {:?}\n{}",
            self.failed_units,
            self.failed_unit_logs.join("\n")
        );
    }
}

/// `[jitsi]` for JWT authentication with a configured `jwt_app_secret`.
pub const JWT_CONFIG: &str = "[jitsi]\nauth = \"jwt\"\njwt_app_id = \"boot-test\"\njwt_app_secret = \"boot-test-jwt-secret-0123456789abcdef\"\n";

/// What the guest reported.
#[derive(Debug)]
pub struct Report {
    /// `meet-agent status --json`.
    pub status: serde_json::Value,
    /// Lines of `systemctl --failed`.
    pub failed_units: Vec<String>,
    /// The journal of each failed unit (`--- UNIT` then its last 40 lines).
    pub failed_unit_logs: Vec<String>,
    /// `machine-id ID` and one `ssh-keygen -l` line per SSH host key.
    pub instance: Vec<String>,
    /// `nft list table inet ryo_jitsi`: the host firewall as loaded.
    pub firewall: Vec<String>,
    /// When meet-agent started and became ready, in microseconds since the kernel started.
    pub agent_started_us: Option<u64>,
    /// See `agent_started_us`.
    pub agent_ready_us: Option<u64>,
    /// The journal's targets and unit starts with their monotonic times (empty from images
    /// made before the section existed).
    pub boot: Vec<String>,
    /// The image's boot-time settings the tests check: `sysctl` lines for IPv6 duplicate
    /// address detection, and `UNIT LOADSTATE` for the mounts the image masks (empty from
    /// images made before the section existed).
    pub boot_settings: Vec<String>,
}

impl Report {
    fn parse(text: &str) -> Result<Self> {
        let section = |name: &str| -> Result<&str> {
            let start = text
                .find(&format!("=== {name}\n"))
                .ok_or_else(|| anyhow!("report lacks the {name} section:\n{text}"))?
                + name.len()
                + 5;
            let end = text[start..].find("=== ").map_or(text.len(), |i| start + i);
            Ok(&text[start..end])
        };
        let status = serde_json::from_str(section("status")?)
            .with_context(|| format!("the status in the report is not JSON:\n{text}"))?;
        let lines = |name: &str| -> Result<Vec<String>> {
            Ok(section(name)?
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect())
        };
        let failed_units = lines("failed units")?;
        // Older images (before the section existed) have none.
        let failed_unit_logs = lines("failed unit logs").unwrap_or_default();
        let instance = lines("instance")?;
        let firewall = lines("firewall")?;
        let timing = lines("timing")?;
        let timestamp = |key: &str| {
            timing.iter().find_map(|l| {
                l.strip_prefix(key)?
                    .strip_prefix('=')?
                    .parse::<u64>()
                    .ok()
                    .filter(|us| *us > 0)
            })
        };
        Ok(Self {
            status,
            failed_units,
            failed_unit_logs,
            instance,
            firewall,
            agent_started_us: timestamp("InactiveExitTimestampMonotonic"),
            agent_ready_us: timestamp("ActiveEnterTimestampMonotonic"),
            boot: lines("boot").unwrap_or_default(),
            boot_settings: lines("boot settings").unwrap_or_default(),
        })
    }
}

/// A client that sends `domain` to 127.0.0.1:`port` and trusts only `root_pem`.
fn https_client(
    domain: &str,
    port: u16,
    root_pem: &str,
    timeout: Duration,
) -> Result<reqwest::Client> {
    meet_agent::install_crypto_provider();
    Ok(reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(root_pem.as_bytes())?])
        .resolve(domain, ([127, 0, 0, 1], port).into())
        .timeout(timeout)
        .no_proxy()
        .build()?)
}

/// One verified HTTPS GET of `path` on 127.0.0.1:`port` for `domain`: the
/// Strict-Transport-Security header (if any) and the body.
pub async fn fetch_https(
    domain: &str,
    port: u16,
    root_pem: &str,
    path: &str,
) -> Result<(Option<String>, String)> {
    let response = send_https(domain, port, root_pem, path)
        .await?
        .error_for_status()?;
    let hsts = response
        .headers()
        .get("strict-transport-security")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Ok((hsts, response.text().await?))
}

/// One verified HTTPS GET of `path` on 127.0.0.1:`port` for `domain`, whatever its status:
/// the status and the body.
pub async fn get_https(
    domain: &str,
    port: u16,
    root_pem: &str,
    path: &str,
) -> Result<(u16, String)> {
    let response = send_https(domain, port, root_pem, path).await?;
    Ok((response.status().as_u16(), response.text().await?))
}

/// The GET both of the above send: verified against `root_pem`, 10 s at most.
async fn send_https(
    domain: &str,
    port: u16,
    root_pem: &str,
    path: &str,
) -> Result<reqwest::Response> {
    let client = https_client(domain, port, root_pem, Duration::from_secs(10))?;
    Ok(client
        .get(format!("https://{domain}:{port}{path}"))
        .send()
        .await?)
}

/// The guest kernel's timestamp of a console line (`[    1.567607] Run /init ...`), in
/// seconds.
fn console_time(line: &str) -> Option<f64> {
    line.trim_start()
        .strip_prefix('[')?
        .split(']')
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Polls `https://DOMAIN:port/` on 127.0.0.1 until it answers, verifying the chain against
/// `root_pem` for `domain`. Returns the body and when it first answered.
///
/// A new attempt starts every 100 ms, whether or not the earlier ones have finished:
/// boot-to-ready is read off the first answer, so the interval is the measurement's
/// resolution. One attempt after another did not give it. QEMU's user network accepts the
/// host's connection at once and delivers it to the guest only when the guest can take it,
/// with its own SYN retransmissions. An attempt made before the guest had its address hung
/// until its 5 s timeout, and a server that came up meanwhile was only seen at that
/// attempt's end: in a traced boot (2026-12-06) the attempts at 0 s and 5.1 s each hung for
/// 5 s and the one at 10.2 s was answered in 0.18 s, and four boots of one image gave
/// boot-to-ready 13.0 to 13.1 s while their guests were ready 1.1 s apart.
pub async fn wait_https(
    domain: &str,
    port: u16,
    root_pem: &str,
    timeout: Duration,
) -> Result<(String, Instant)> {
    let client = https_client(domain, port, root_pem, Duration::from_secs(5))?;
    let url = format!("https://{domain}:{port}/");
    let deadline = Instant::now() + timeout;
    let mut attempts = tokio::task::JoinSet::new();
    let mut every = tokio::time::interval(Duration::from_millis(100));
    let mut last = String::new();
    loop {
        tokio::select! {
            _ = every.tick() => {
                if Instant::now() >= deadline {
                    bail!("no verified HTTPS answer from {url} within {timeout:?}; last error: {last}");
                }
                let (client, url) = (client.clone(), url.clone());
                attempts.spawn(async move {
                    let response = client.get(&url).send().await?;
                    let answered = Instant::now();
                    Ok::<_, reqwest::Error>((response.text().await?, answered))
                });
            }
            Some(done) = attempts.join_next() => match done? {
                Ok(answer) => return Ok(answer),
                Err(e) => {
                    last = format!("{e:?}");
                    // A TLS failure is final: the server answered with a certificate we reject.
                    if !e.is_connect() && !e.is_timeout() && e.to_string().contains("certificate") {
                        bail!("HTTPS answered with a certificate that does not verify: {last}");
                    }
                }
            },
        }
    }
}
