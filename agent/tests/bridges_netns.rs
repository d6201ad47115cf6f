//! A signaling node and its videobridges as machines with their own addresses (network
//! namespaces this test makes, joined by veth pairs; nothing leaves them):
//! - the agent renders a signaling node (`server.role = "signaling"`, `bridges.allow_cidrs`
//!   naming one bridge's address) below a test root; real prosody (Debian's Prosody 13)
//!   runs that configuration in the signaling namespace, and the rendered host firewall is
//!   loaded there with nft;
//! - `meet-agent bridge token` prints the node's join token; a real XMPP client (slixmpp,
//!   standing in for jitsi-videobridge2, which cannot be installed here) in the bridge's
//!   namespace logs in as `jvb@auth.DOMAIN` over TLS verified against the token's
//!   certificate only, and joins the brewery MUC with its own nickname;
//! - the same client trusting another deployment's certificate is refused at TLS;
//! - a third machine, outside `bridges.allow_cidrs`, cannot reach 5222 at all;
//! - `meet-agent status` on a bridge (a videobridge root run in the bridge's namespace)
//!   probes the signaling node's 5222 as jvb would (STARTTLS, the token's certificate as
//!   the only trust anchor): the right token's certificate matches, another deployment's
//!   is named as not vouched for with both fingerprints, and a bridge outside
//!   `bridges.allow_cidrs` says the node is unreachable;
//! - on a signaling node, status lists each bridge jicofo sees (a stand-in for jicofo's
//!   REST API, which cannot run here, in a namespace of its own);
//! - a recorder (`server.role = "recorder"`, with `meet-agent bridge token --recorder`)
//!   renders jibri.conf; slixmpp, standing in for jibri (which cannot be installed here),
//!   logs in with that file's control login over TLS verified against the anchor the
//!   recorder installed, joins JibriBrewery with jibri's status presence, and an observer
//!   in jicofo's place (logged in as focus) sees it idle and healthy; the file's call
//!   login (the hidden `recorder.DOMAIN` account the browser joins meetings with) logs in.

mod common;
use common::{text, Ns, Root};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DOMAIN: &str = "meet.example.test";
/// The signaling node as the allowed bridge sees it, and the bridge.
/// The SIP account every node with phones in these tests has.
const SIP_ACCOUNT: &str =
    "[sip]\nserver = \"sip.example.net\"\nusername = \"meet\"\npassword = \"sip-secret\"\n";
const SIGNALING_FOR_BRIDGE: &str = "10.88.1.1";
const BRIDGE: &str = "10.88.1.2";
/// The signaling node as the outsider sees it, and the outsider.
const SIGNALING_FOR_OUTSIDER: &str = "10.88.2.1";
const OUTSIDER: &str = "10.88.2.2";

/// A network namespace of this test's own (`prefix` and the process id) with loopback
/// up, removed when the test ends.
fn loopback_ns(prefix: &str) -> Ns {
    let ns = Ns(format!("{prefix}{}", std::process::id()));
    ip(&["netns", "add", &ns.0]);
    ip(&["-n", &ns.0, "link", "set", "lo", "up"]);
    ns
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip");
    assert!(out.status.success(), "ip {args:?}: {}", text(&out));
}

/// Three namespaces: the signaling node with a link to the bridge and one to an outsider.
struct Net {
    signaling: String,
    bridge: String,
    outsider: String,
}

impl Net {
    fn new() -> Self {
        // Tests of this file run at once in one process: each set of namespaces gets a
        // number of its own.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("{}{n}", std::process::id());
        let net = Net {
            signaling: format!("ryobr-s{id}"),
            bridge: format!("ryobr-b{id}"),
            outsider: format!("ryobr-o{id}"),
        };
        for ns in [&net.signaling, &net.bridge, &net.outsider] {
            ip(&["netns", "add", ns]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        for (peer, ours, theirs, tag) in [
            (&net.bridge, SIGNALING_FOR_BRIDGE, BRIDGE, "b"),
            (&net.outsider, SIGNALING_FOR_OUTSIDER, OUTSIDER, "o"),
        ] {
            let (a, b) = (format!("rbs{tag}{id}"), format!("rbp{tag}{id}"));
            ip(&[
                "link",
                "add",
                &a,
                "netns",
                &net.signaling,
                "type",
                "veth",
                "peer",
                "name",
                &b,
                "netns",
                peer,
            ]);
            for (ns, dev, addr) in [(&net.signaling, &a, ours), (peer, &b, theirs)] {
                ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev]);
                ip(&["-n", ns, "link", "set", dev, "up"]);
            }
        }
        net
    }

    /// `cmd` in namespace `ns`.
    fn exec(ns: &str, cmd: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).args(cmd);
        c
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in [&self.signaling, &self.bridge, &self.outsider] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// A child process ended when the test ends, however it ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Debian's prosody as its own user, in namespace `ns`, with the main file `main` (see
/// [`servable`]), in the foreground until the test ends.
fn run_prosody(ns: &str, main: &Path) -> KillOnDrop {
    KillOnDrop(
        Net::exec(
            ns,
            &[
                "setpriv",
                "--reuid=prosody",
                "--regid=prosody",
                "--init-groups",
                "prosody",
                "--config",
                &main.display().to_string(),
                "-F",
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    )
}

fn chown_prosody(path: &Path) {
    let user = nix::unistd::User::from_name("prosody")
        .unwrap()
        .expect("prosody user");
    nix::unistd::chown(path, Some(user.uid), Some(user.gid)).unwrap();
}

/// The rendered site with its certificates copied where prosody's user can read them,
/// included from a main configuration of the test's own (data and logs in `dir`), shaped
/// like Debian's: it lists the standard client port and leaves c2s_interfaces to the
/// site.
fn servable(root: &Root, dir: &Path) -> PathBuf {
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    chown_prosody(dir);
    let mut site = std::fs::read_to_string(root.join(meet_agent::jitsi::prosody::PATH)).unwrap();
    for (from, to) in [
        ("/etc/meet-agent/tls/fullchain.pem", "fullchain.pem"),
        ("/etc/meet-agent/tls/privkey.pem", "privkey.pem"),
        (meet_agent::bridge::xmpp_cert::CERT, "auth.crt"),
        (meet_agent::bridge::xmpp_cert::KEY, "auth.key"),
    ] {
        // The bridges' pair exists on a signaling node only.
        if !root.join(from).exists() {
            continue;
        }
        let dest = certs.join(to);
        std::fs::copy(root.join(from), &dest).unwrap();
        chown_prosody(&dest);
        site = site.replace(from, &dest.display().to_string());
    }
    let site = site.replace(
        "/etc/prosody/ryo-jitsi.local",
        &root
            .join("/etc/prosody/ryo-jitsi.local")
            .display()
            .to_string(),
    );
    let site_path = dir.join("site.cfg.lua");
    std::fs::write(&site_path, site).unwrap();
    let d = dir.display();
    let data = root.join("/var/lib/prosody");
    let main = dir.join("main.cfg.lua");
    std::fs::write(
        &main,
        format!(
            "data_path = \"{}\"\npidfile = \"{d}/prosody.pid\"\n\
             log = {{ info = \"{d}/prosody.log\" }}\n\
             c2s_ports = {{ 5222 }}\nhttp_ports = {{ 5280 }}\ncomponent_ports = {{ }}\n\
             certificates = \"{d}/certs\"\n\
             modules_enabled = {{ \"roster\"; \"saslauth\"; \"tls\"; \"disco\"; \"ping\" }}\n\
             VirtualHost \"localhost\"\n\
             Include \"{}\"\n",
            data.display(),
            site_path.display()
        ),
    )
    .unwrap();
    for p in [&site_path, &main] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    main
}

/// slixmpp standing in for Jitsi's XMPP clients, by mode:
/// - `bridge JID PASSWORD HOST CAFILE MUC NICK`: a videobridge: logs in trusting only
///   CAFILE and joins the brewery MUC as NICK; prints JOINED, or what stopped it;
/// - `observe JID PASSWORD HOST CAFILE MUC NICK`: joins MUC (creating it, as jicofo does),
///   prints JOINED, then the first occupant presence carrying jibri's status as
///   `STATUS <nick> <busy> <health>` (or TIMEOUT);
/// - `jibri JID PASSWORD HOST CAFILE MUC NICK`: joins MUC with jibri's status presence
///   (idle, healthy; jitsi-xmpp-extensions' JibriStatusPacketExt), prints JOINED, stays a
///   few seconds;
/// - `login JID PASSWORD HOST [CAFILE]`: logs in and prints SESSION; with CAFILE trusting
///   only it, for the JID's domain (as jitsi-desktop checks jigasi's accounts), else with
///   no certificate check (the browser's login goes through nginx's TLS, not this port's);
/// - `jigasi JID PASSWORD HOST MUC NICK [CAFILE]`: a SIP gateway: logs in as `login` does
///   and joins MUC with jigasi's stats presence (`supports_sip`), prints JOINED, stays a
///   few seconds.
///
/// `observe` also reports the first occupant with colibri stats as
/// `STATS <nick> supports_sip=<value>`, and takes `-` for CAFILE (no check, loopback).
const CLIENTS: &str = r#"
import asyncio, ssl, sys, slixmpp
import xml.etree.ElementTree as ET
mode, jid, password, host = sys.argv[1:5]
c = slixmpp.ClientXMPP(jid, password)
def unverified():
    c.ssl_context = ssl.create_default_context()
    c.ssl_context.check_hostname = False
    c.ssl_context.verify_mode = ssl.CERT_NONE
if mode == "login":
    cafile = sys.argv[5] if len(sys.argv) > 5 else "-"
    if cafile == "-":
        unverified()
    else:
        c.ssl_context = ssl.create_default_context(cafile=cafile)
elif mode == "jigasi":
    muc, nick = sys.argv[5:7]
    cafile = sys.argv[7] if len(sys.argv) > 7 else "-"
    if cafile == "-":
        unverified()
    else:
        c.ssl_context = ssl.create_default_context(cafile=cafile)
    room = muc.lower()
else:
    cafile, muc, nick = sys.argv[5:8]
    if cafile == "-":
        unverified()
    else:
        c.ssl_context = ssl.create_default_context(cafile=cafile)
    # prosody answers from the room's JID in lower case (JvbBrewery -> jvbbrewery), which
    # join_muc_wait does not match; so the join is sent and its answer matched here.
    room = muc.lower()
J = "http://jitsi.org/protocol/jibri"
S = "http://jitsi.org/protocol/colibri"
H = "http://jitsi.org/protocol/health"
done = asyncio.get_event_loop().create_future()
def finish(what):
    if not done.done():
        done.set_result(what)
def presence(p):
    if mode == "login" or p["from"].bare.lower() != room:
        return
    if p["type"] == "error":
        finish("MUC-ERROR " + p["error"]["condition"])
        return
    if p["from"].resource == nick:
        if mode == "bridge":
            finish("JOINED")
            return
        print("JOINED", flush=True)
        if mode in ("jibri", "jigasi"):
            asyncio.get_event_loop().call_later(6, finish, "LEFT")
        return
    stats = p.xml.find("{%s}stats" % S)
    if mode == "observe" and stats is not None:
        sip = [s.get("value") for s in stats.findall("{%s}stat" % S) if s.get("name") == "supports_sip"]
        finish("STATS %s supports_sip=%s" % (p["from"].resource, sip[0] if sip else "-"))
        return
    status = p.xml.find("{%s}jibri-status" % J)
    if mode == "observe" and status is not None:
        busy = status.find("{%s}busy-status" % J)
        health = status.find("{%s}health-status" % H)
        finish("STATUS %s %s %s" % (p["from"].resource,
               busy.get("status") if busy is not None else "-",
               health.get("status") if health is not None else "-"))
def started(event):
    if mode == "login":
        finish("SESSION")
        return
    p = c.make_presence(pto=muc + "/" + nick)
    p.enable("muc_join")
    if mode == "jibri":
        p.xml.append(ET.fromstring(
            "<jibri-status xmlns='%s'><busy-status xmlns='%s' status='idle'/>"
            "<health-status xmlns='%s' status='healthy'/></jibri-status>" % (J, J, H)))
    if mode == "jigasi":
        # jigasi's Statistics.updatePresenceStatusForXmppProvider (6fbf4f27).
        p.xml.append(ET.fromstring(
            "<stats xmlns='%s'><stat name='conferences' value='0'/>"
            "<stat name='participants' value='0'/><stat name='graceful_shutdown' value='false'/>"
            "<stat name='supports_sip' value='true'/></stats>" % S))
    p.send()
c.register_plugin("xep_0045")
c.add_event_handler("session_start", started)
c.add_event_handler("presence", presence)
c.add_event_handler("failed_all_auth", lambda e: finish("AUTH-FAILED"))
c.add_event_handler("ssl_invalid_chain", lambda e: finish("TLS-REFUSED"))
c.add_event_handler("connection_failed", lambda e: finish("CONNECTION-FAILED"))
c.add_event_handler("disconnected", lambda e: finish("DISCONNECTED"))
c.connect((host, 5222))
async def main():
    try:
        print(await asyncio.wait_for(done, 25), flush=True)
    except asyncio.TimeoutError:
        print("TIMEOUT", flush=True)
    c.disconnect()
asyncio.get_event_loop().run_until_complete(main())
"#;

/// A TCP connection attempt: CONNECTED, REFUSED or TIMEOUT (a firewall that drops).
const PROBE: &str = r#"
import socket, sys
s = socket.socket()
s.settimeout(3)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("CONNECTED")
except socket.timeout:
    print("TIMEOUT")
except ConnectionRefusedError:
    print("REFUSED")
"#;

fn python(ns: &str, script: &str, args: &[&str]) -> String {
    let mut cmd = Net::exec(ns, &["/usr/bin/python3", "-c", script]);
    let out = cmd.args(args).stdin(Stdio::null()).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_bridge_joins_the_brewery_over_verified_tls_and_an_outsider_cannot_reach_5222() {
    let root = Root::new();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    root.write("/etc/machine-id", "66666666666666666666666666666666\n");
    // No Jitsi prosody plugins here (the offline image lacks them; the modules they name
    // could not load).
    let data = root.join("/var/lib/prosody");
    std::fs::create_dir_all(&data).unwrap();
    chown_prosody(&data);
    root.config(
        "00.toml",
        &format!(
            "[source]\nprovider = \"none\"\n[server]\ndomain = \"{DOMAIN}\"\nrole = \"signaling\"\n\
             [bridges]\nallow_cidrs = [\"{BRIDGE}/32\"]\n\
             {SIP_ACCOUNT}"
        ),
    );
    let out = root.run(&["run"]);
    for step in ["jitsi", "firewall"] {
        assert_eq!(
            root.step(step)["state"],
            "ok",
            "{}\n{}",
            root.step(step),
            text(&out)
        );
    }
    let firewall = root.step("firewall")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        firewall.contains(&format!("tcp 5222 from {BRIDGE}/32")),
        "{firewall}"
    );
    assert!(
        !firewall.contains("udp 3478, 10000"),
        "no local bridge: {firewall}"
    );

    // The token, as an operator copies it to the bridges.
    let out = root.run(&["bridge", "token", "--host", SIGNALING_FOR_BRIDGE]);
    assert!(out.status.success(), "{}", text(&out));
    let encoded = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let token = meet_agent::bridge::token::Token::decode_for_domain(&encoded, DOMAIN).unwrap();
    assert_eq!(token.host(), SIGNALING_FOR_BRIDGE);
    let dir = tempfile::tempdir().unwrap();
    let trusted = dir.path().join("token-ca.pem");
    std::fs::write(&trusted, token.certificate_pem()).unwrap();
    let other = dir.path().join("other-deployment.pem");
    let other_pair =
        meet_agent::bridge::xmpp_cert::generate(DOMAIN, time::OffsetDateTime::now_utc()).unwrap();
    std::fs::write(&other, other_pair.chain_pem()).unwrap();

    let net = Net::new();
    let prosody_dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(prosody_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let main = servable(&root, prosody_dir.path());
    let fw = Net::exec(
        &net.signaling,
        &[
            "nft",
            "-f",
            &root.join(meet_agent::firewall::PATH).display().to_string(),
        ],
    )
    .output()
    .unwrap();
    assert!(fw.status.success(), "nft: {}", text(&fw));
    let _prosody = run_prosody(&net.signaling, &main);
    let log =
        || std::fs::read_to_string(prosody_dir.path().join("prosody.log")).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let seen = python(&net.bridge, PROBE, &[SIGNALING_FOR_BRIDGE, "5222"]);
        if seen == "CONNECTED" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "prosody did not answer the bridge on 5222 ({seen}): {}",
            log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let jid = format!("{}@{}", token.username(), token.auth_domain());
    let joined = python(
        &net.bridge,
        CLIENTS,
        &[
            "bridge",
            &jid,
            token.password(),
            SIGNALING_FOR_BRIDGE,
            &trusted.display().to_string(),
            &token.brewery_muc_jid(),
            "jvb-i-0bridge1",
        ],
    );
    assert_eq!(joined, "JOINED", "prosody's log:\n{}", log());

    // A bridge holding another deployment's certificate does not talk to this node.
    let refused = python(
        &net.bridge,
        CLIENTS,
        &[
            "bridge",
            &jid,
            token.password(),
            SIGNALING_FOR_BRIDGE,
            &other.display().to_string(),
            &token.brewery_muc_jid(),
            "jvb-i-0bridge2",
        ],
    );
    // slixmpp's verification of the chain fails (its ssl_invalid_chain event).
    assert_eq!(refused, "TLS-REFUSED", "prosody's log:\n{}", log());

    a_recorder_joins(&root, &net, &trusted, &log);
    a_sip_gateway_joins(&root, &net, &log);

    // The outsider: its packets to 5222 are dropped, while the same node's 443 answers
    // with a refusal (nothing listens there in this test), so the link itself works.
    assert_eq!(
        python(&net.outsider, PROBE, &[SIGNALING_FOR_OUTSIDER, "5222"]),
        "TIMEOUT"
    );
    assert_eq!(
        python(&net.outsider, PROBE, &[SIGNALING_FOR_OUTSIDER, "443"]),
        "REFUSED"
    );

    // `meet-agent status` on the bridges. What prosody presents, and what each token holds:
    let served =
        pem::parse(std::fs::read(root.join(meet_agent::bridge::xmpp_cert::CERT)).unwrap()).unwrap();
    let served_sha = meet_agent::bridge::probe::fingerprint(served.contents());
    let other_sha = meet_agent::bridge::probe::fingerprint(&other_pair.chain[0]);
    assert_ne!(served_sha, other_sha);
    let with = |host: &str, certificate: &str| {
        meet_agent::bridge::token::Token::new(host, 5222, DOMAIN, token.password(), certificate)
            .unwrap()
            .encode()
    };
    let auth = token.auth_domain();

    // The bridge holding this node's token: the certificate matches.
    let good = bridge_root(&encoded);
    let report = status_json(&net.bridge, &good);
    let probe = &report["deployment"]["signaling"];
    assert_eq!(probe["result"], "certificate-matches", "{report:#}");
    assert_eq!(probe["presented"]["sha256"], served_sha, "{report:#}");
    assert_eq!(probe["trusted_sha256"], serde_json::json!([served_sha]));
    assert_eq!(probe["host"], SIGNALING_FOR_BRIDGE);
    assert_eq!(probe["xmpp_domain"], auth.as_str());
    assert!(
        !report["reasons"].to_string().contains("signaling node at"),
        "{report:#}"
    );
    let human = status_text(&net.bridge, &good);
    let line = format!(
        "xmpp         the signaling node at {SIGNALING_FOR_BRIDGE}:5222 presents a certificate for {auth} (sha256 {served_sha}) that the join token vouches for, valid for {auth}"
    );
    assert!(human.contains(&line), "{human}");

    // A bridge holding another deployment's certificate: status names both certificates
    // and what to do, in the JSON, the reasons and the text.
    let foreign = bridge_root(&with(SIGNALING_FOR_BRIDGE, &other_pair.chain_pem()));
    let report = status_json(&net.bridge, &foreign);
    let probe = &report["deployment"]["signaling"];
    assert_eq!(probe["result"], "certificate-mismatch", "{report:#}");
    assert_eq!(probe["presented"]["sha256"], served_sha, "{report:#}");
    assert_eq!(probe["trusted_sha256"], serde_json::json!([other_sha]));
    let sentence = format!(
        "the signaling node at {SIGNALING_FOR_BRIDGE}:5222 presents a certificate for {auth} (sha256 {served_sha}) that the join token does not vouch for (it is neither the token's certificate nor issued by it; the token's certificate is sha256 {other_sha}): make a new token on the signaling node (`meet-agent bridge token`) and set it as bridge.join here"
    );
    assert!(
        report["reasons"].as_array().unwrap().iter().any(|r| r
            .as_str()
            .unwrap_or("")
            .starts_with(&format!("deployment: {sentence}"))),
        "{report:#}"
    );
    let human = status_text(&net.bridge, &foreign);
    assert!(
        human.contains(&format!("xmpp         {sentence}")),
        "{human}"
    );
    assert!(
        human.contains(&format!("  - deployment: {sentence}")),
        "{human}"
    );
    assert!(
        !human.contains(token.password()) && !report.to_string().contains(token.password()),
        "{human}"
    );

    // A bridge outside bridges.allow_cidrs: its packets to 5222 are dropped.
    let outside = bridge_root(&with(SIGNALING_FOR_OUTSIDER, token.certificate_pem()));
    let report = status_json(&net.outsider, &outside);
    let probe = &report["deployment"]["signaling"];
    assert_eq!(probe["result"], "unreachable", "{report:#}");
    assert!(probe["presented"].is_null(), "{report:#}");
    let human = status_text(&net.outsider, &outside);
    assert!(
        human.contains(&format!(
            "xmpp         the signaling node at {SIGNALING_FOR_OUTSIDER}:5222 is unreachable (no answer within 3 s: a firewall drops this machine's packets, or the host is down): let this machine's address reach TCP 5222 there (bridges.allow_cidrs on the signaling node"
        )),
        "{human}"
    );
}

/// A recorder's jitsi step rendered jibri.conf and says, as its two problems, that jibri
/// is not installed and that its runtime is missing (neither can be, in a test root).
fn assert_recorder_rendered(recorder: &Root, out: &std::process::Output) {
    let step = recorder.step("jitsi");
    assert_eq!(step["state"], "degraded", "{step}\n{}", text(out));
    let message = step["message"].as_str().unwrap();
    assert!(
        message.starts_with("jibri is not installed (no user jibri)")
            && message.contains("; this machine lacks jibri's runtime: chromium, chromedriver, ffmpeg, Xorg, Xorg's dummy driver, icewm, ALSA's loopback card (the snd-aloop module is not loaded); recorders run the recorder image")
            && message.contains("/etc/jitsi/jibri/jibri.conf rendered"),
        "{message}"
    );
}

/// The recorder checks against the signaling node's running prosody (see the file's doc):
/// `site_ca` is the token's certificate the bridges trust, for the observer's login.
fn a_recorder_joins(root: &Root, net: &Net, site_ca: &Path, log: &dyn Fn() -> String) {
    let (encoded, token) = node_token(root, "recorder");

    // The recorder renders jibri.conf from the token and trusts its certificate.
    let recorder = Root::new();
    recorder.write("/etc/machine-id", "55555555555555555555555555555555\n");
    recorder.config(
        "00.toml",
        &format!(
            "[source]\nprovider = \"none\"\n[server]\ndomain = \"{DOMAIN}\"\nrole = \"recorder\"\n\
             [bridge]\njoin = \"{encoded}\"\n"
        ),
    );
    let out = recorder.run(&["run"]);
    // Rendered, and degraded only because jibri itself is not installed here.
    assert_recorder_rendered(&recorder, &out);
    let conf = common::pyhocon_json(&recorder.join(meet_agent::jitsi::jibri::CONF));
    let env = &conf["jibri"]["api"]["xmpp"]["environments"][0];
    let field = |v: &serde_json::Value| v.as_str().unwrap().to_string();
    let login = &env["control-login"];
    let control_jid = format!("{}@{}", field(&login["username"]), field(&login["domain"]));
    let host = field(&env["xmpp-server-hosts"][0]);
    let muc = format!(
        "{}@{}",
        field(&env["control-muc"]["room-name"]),
        field(&env["control-muc"]["domain"])
    );
    let nick = field(&env["control-muc"]["nickname"]);
    let anchor = trusted_anchor(&recorder, token.certificate_pem());

    // jicofo's place: focus creates and watches the brewery.
    let secrets = secrets_of(root);
    let mut observer = KillOnDrop(
        Net::exec(
            &net.signaling,
            &["/usr/bin/python3", "-c", CLIENTS, "observe"],
        )
        .args([
            &format!("focus@auth.{DOMAIN}"),
            secrets["focus_password"].as_str().unwrap(),
            "127.0.0.1",
            &site_ca.display().to_string(),
            &muc,
            "focus",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap(),
    );
    let mut lines =
        std::io::BufRead::lines(std::io::BufReader::new(observer.0.stdout.take().unwrap()));
    let mut next = || lines.next().map(|l| l.unwrap()).unwrap_or_default();
    assert_eq!(next(), "JOINED", "the observer: prosody's log:\n{}", log());

    // The stand-in jibri, from the recorder's address, with the rendered file's login.
    let joined = python(
        &net.bridge,
        CLIENTS,
        &[
            "jibri",
            &control_jid,
            &field(&login["password"]),
            &host,
            &anchor.display().to_string(),
            &muc,
            &nick,
        ],
    );
    assert_eq!(
        joined,
        "LEFT",
        "the jibri stand-in: prosody's log:\n{}",
        log()
    );
    assert_eq!(
        next(),
        format!("STATUS {nick} idle healthy"),
        "what jicofo would see; prosody's log:\n{}",
        log()
    );

    // The browser's account on the hidden domain.
    let call = &env["call-login"];
    let call_jid = format!("{}@{}", field(&call["username"]), field(&call["domain"]));
    assert_eq!(call_jid, format!("recorder@recorder.{DOMAIN}"));
    let session = python(
        &net.signaling,
        CLIENTS,
        &["login", &call_jid, &field(&call["password"]), "127.0.0.1"],
    );
    assert_eq!(session, "SESSION", "prosody's log:\n{}", log());
    let wrong = python(
        &net.signaling,
        CLIENTS,
        &["login", &call_jid, "not-the-password", "127.0.0.1"],
    );
    assert_eq!(wrong, "AUTH-FAILED", "the check can fail");
}

/// The signaling node's token for joining machines of `kind` ("recorder", "sip") from
/// `meet-agent bridge token --KIND`, naming the node's address on the bridges' link: its
/// text and what it decodes to.
fn node_token(root: &Root, kind: &str) -> (String, meet_agent::bridge::token::Token) {
    let flag = format!("--{kind}");
    let out = root.run(&["bridge", "token", &flag, "--host", SIGNALING_FOR_BRIDGE]);
    assert!(out.status.success(), "{}", text(&out));
    let encoded = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let token = meet_agent::bridge::token::Token::decode_for_domain(&encoded, DOMAIN).unwrap();
    assert_eq!(token.kind(), kind);
    (encoded, token)
}

/// Runs the agent below `root`, where jigasi runs: its jitsi step rendered jigasi's file,
/// says `also`, and is degraded only by the one thing a test machine cannot have (jigasi
/// itself). Returns the step's message.
fn jigasi_rendered(root: &Root, also: &str) -> String {
    let out = root.run(&["run"]);
    let jitsi = root.step("jitsi");
    let message = jitsi["message"].as_str().unwrap_or("").to_string();
    assert!(
        message.starts_with("jigasi is not installed (no user jigasi)")
            && message.contains("/etc/jitsi/jigasi/sip-communicator.properties rendered")
            && message.contains(also),
        "{jitsi}\n{}",
        text(&out)
    );
    message
}

/// The anchor the machine below `root` installed for the certificate `pem` (a joining
/// machine's token's, or a node's own for auth.DOMAIN when its jigasi runs there): what
/// makes its Java services trust prosody.
fn trusted_anchor(root: &Root, pem: &str) -> PathBuf {
    let anchor = root.join(&meet_agent::bridge::trust::anchor(pem));
    assert_eq!(
        std::fs::read_to_string(&anchor).ok().as_deref(),
        Some(pem),
        "the machine trusts the certificate"
    );
    anchor
}

/// The per-instance secrets of the machine below `root`.
fn secrets_of(root: &Root) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(root.join("/var/lib/meet-agent/secrets.json")).unwrap())
        .unwrap()
}

/// jigasi's XMPP control login as its rendered file holds it (the file, and of its
/// `acc-xmpp-1` account the JID, password, server and brewery).
struct Jigasi {
    props: std::collections::BTreeMap<String, String>,
    jid: String,
    password: String,
    host: String,
    brewery: String,
}

/// Reads the rendered jigasi file below `root` the way jigasi does (Java properties, the
/// password base64).
fn jigasi_login(root: &Root) -> Jigasi {
    let props = common::java_properties(
        &std::fs::read_to_string(root.join(meet_agent::jitsi::jigasi::PROPERTIES)).unwrap(),
    );
    let acc = "net.java.sip.communicator.impl.protocol.jabber.acc-xmpp-1";
    let value = |key: &str| props[&format!("{acc}.{key}")].clone();
    let password = String::from_utf8(
        base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            value("PASSWORD"),
        )
        .unwrap(),
    )
    .unwrap();
    Jigasi {
        jid: value("USER_ID"),
        host: value("SERVER_ADDRESS"),
        brewery: value("BREWERY"),
        password,
        props,
    }
}

/// A jigasi stand-in in namespace `from` logs in with `login` (jid, password, host,
/// brewery) as `nick`, verifying TLS against `cafile` ("-": not verified), joins the
/// brewery with jigasi's stats, and jicofo's account (`focus_password`) sees it there.
fn joins_and_is_seen(
    net: &Net,
    from: &str,
    (jid, password, host, brewery): (&str, &str, &str, &str),
    (nick, cafile): (&str, &str),
    focus_password: &str,
    log: &dyn Fn() -> String,
) {
    let mut standin = KillOnDrop(
        Net::exec(from, &["/usr/bin/python3", "-c", CLIENTS, "jigasi"])
            .args([jid, password, host, brewery, nick, cafile])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines =
        std::io::BufRead::lines(std::io::BufReader::new(standin.0.stdout.take().unwrap()));
    let mut next = || lines.next().map(|l| l.unwrap()).unwrap_or_default();
    assert_eq!(
        next(),
        "JOINED",
        "the jigasi stand-in: prosody's log:\n{}",
        log()
    );
    let seen = python(
        &net.signaling,
        CLIENTS,
        &[
            "observe",
            &format!("focus@auth.{DOMAIN}"),
            focus_password,
            "127.0.0.1",
            "-",
            brewery,
            "focus",
        ],
    );
    assert_eq!(
        seen,
        format!("STATS {nick} supports_sip=true"),
        "what jicofo would see; prosody's log:\n{}",
        log()
    );
    assert_eq!(next(), "LEFT", "prosody's log:\n{}", log());
}

/// A SIP gateway of its own (`server.role = "sip"`) checks against the signaling node's
/// running prosody: its rendered jigasi file logs in over TLS verified against the anchor
/// its token installed, joins JigasiBrewery where jicofo's account sees it, and its status
/// finds the signaling node's certificate vouched for.
fn a_sip_gateway_joins(root: &Root, net: &Net, log: &dyn Fn() -> String) {
    let (encoded, token) = node_token(root, "sip");

    let gateway = Root::new();
    gateway.write("/etc/machine-id", "57575757575757575757575757575757\n");
    gateway.config(
        "00.toml",
        &format!(
            "[source]\nprovider = \"none\"\n[server]\nrole = \"sip\"\n[bridge]\njoin = \"{encoded}\"\n\
             {SIP_ACCOUNT}"
        ),
    );
    jigasi_rendered(
        &gateway,
        &format!("joins {SIGNALING_FOR_BRIDGE}:5222 as jigasi"),
    );
    assert_eq!(
        gateway.step("identity")["message"]
            .as_str()
            .unwrap_or("")
            .split(':')
            .next(),
        Some(format!("a SIP gateway of {DOMAIN} (no site of its own)").as_str()),
        "{}",
        gateway.step("identity")
    );
    let Jigasi {
        props,
        jid,
        password,
        host,
        brewery,
    } = jigasi_login(&gateway);
    assert_eq!(host, SIGNALING_FOR_BRIDGE);
    assert_eq!(
        props["net.java.sip.communicator.impl.protocol.jabber.acc-xmpp-1.SERVER_PORT"],
        "5222"
    );
    assert_eq!(
        props["net.java.sip.communicator.impl.protocol.jabber.acc-xmpp-1.ALLOW_NON_SECURE"],
        "false",
        "TLS only across the network"
    );
    let anchor = trusted_anchor(&gateway, token.certificate_pem());

    // jigasi from the gateway's address, verifying the signaling node against the anchor,
    // then jicofo's account sees it.
    let secrets = secrets_of(root);
    joins_and_is_seen(
        net,
        &net.bridge,
        (&jid, &password, &host, &brewery),
        ("jigasi-remote", &anchor.display().to_string()),
        secrets["focus_password"].as_str().unwrap(),
        log,
    );

    // Each call's own login, the same account, from the gateway's address.
    let call = "org.jitsi.jigasi.xmpp.acc";
    assert_eq!(
        props[&format!("{call}.SERVER_ADDRESS")],
        SIGNALING_FOR_BRIDGE
    );
    assert_eq!(props[&format!("{call}.ALLOW_NON_SECURE")], "false");
    let session = python(
        &net.bridge,
        CLIENTS,
        &[
            "login",
            &props[&format!("{call}.USER_ID")],
            &props[&format!("{call}.PASS")],
            &host,
            &anchor.display().to_string(),
        ],
    );
    assert_eq!(session, "SESSION", "prosody's log:\n{}", log());

    // Status on the gateway: its role, and the signaling node's certificate vouched for.
    let report = status_json(&net.bridge, &gateway);
    assert_eq!(report["deployment"]["role"], "sip", "{report:#}");
    assert_eq!(
        report["deployment"]["signaling"]["result"], "certificate-matches",
        "{report:#}"
    );
    assert!(!report.to_string().contains(&password), "{report:#}");
}

/// A videobridge below a test root holding `join`, after `meet-agent run` (which renders
/// jvb.conf and trusts the token's certificate below the root).
fn bridge_root(join: &str) -> Root {
    let root = Root::bridge(DOMAIN, join, "");
    let out = root.run(&["run"]);
    assert_eq!(root.step("jitsi")["state"], "ok", "{}", text(&out));
    root
}

/// `meet-agent status` with `root`, run in namespace `ns`, without a system bus.
fn status_in(ns: &str, root: &Root, json: bool) -> std::process::Output {
    let mut cmd = Net::exec(ns, &[env!("CARGO_BIN_EXE_meet-agent"), "--root"]);
    cmd.arg(root.path()).arg("status");
    if json {
        cmd.arg("--json");
    }
    cmd.env(
        "DBUS_SYSTEM_BUS_ADDRESS",
        "unix:path=/nonexistent/meet-agent-test-bus",
    )
    .stdin(Stdio::null())
    .output()
    .unwrap()
}

fn status_json(ns: &str, root: &Root) -> serde_json::Value {
    let out = status_in(ns, root, true);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("status --json is not JSON ({e}): {}", text(&out)))
}

fn status_text(ns: &str, root: &Root) -> String {
    String::from_utf8_lossy(&status_in(ns, root, false).stdout).into_owned()
}

/// A stand-in for jicofo's private REST API on 127.0.0.1:8888 (jicofo cannot be installed
/// here), answering in the shapes jitsi/jicofo 7ebb13dc3539 (2026-08-19) writes: `/stats`
/// with `bridge_selector` counts (jicofo/src/main/kotlin/org/jitsi/jicofo/JicofoServices.kt,
/// getStats) and `/debug` with `bridge_selector.bridge`, each bridge keyed by its brewery
/// occupant JID (JicofoServices.kt getDebugState; jicofo-selector's BridgeSelector.kt and
/// Bridge.kt debugState, which writes an unknown region or version as "null"), and
/// `/about/health` failing as ktor/Application.kt answers a failed check.
const JICOFO_STANDIN: &str = r#"
import json
from http.server import BaseHTTPRequestHandler, HTTPServer
brewery = "jvbbrewery@internal.auth.meet.example.test/"
def bridge(stress, version, region, operational, drain, graceful, endpoints):
    return {"corrected-stress": stress, "drain": drain, "endpoints": endpoints,
            "endpoint-restart-requests": 0, "failing-ice": False,
            "graceful-shutdown": graceful, "healthy": operational,
            "operational": operational, "overloaded": False, "region": region,
            "relay-id": "null", "release": "null", "shutting-down": False,
            "stress": stress, "version": version}
answers = {
    "/stats": {"conferences": 1, "participants": 3, "version": "1.0-1146-g7ebb13d",
               "bridge_selector": {"bridge_count": 3, "operational_bridge_count": 2,
                                   "in_shutdown_bridge_count": 1, "lost_bridges": 0,
                                   "bridge_version_count": 2},
               "jibri_detector": {"count": 2, "available": 1}},
    "/debug": {"focus_manager": {"room@conference.meet.example.test": 3},
               "bridge_selector": {"strategy": "RegionBasedBridgeSelectionStrategy", "bridge": {
                   brewery + "jvb-i-0aaa": bridge(0.25, "2.3.209-gd1b4a1b", "eu-central-1", True, False, False, 3),
                   brewery + "jvb-i-0bbb": bridge(0.05, "2.3.209-gd1b4a1b", "eu-central-1", True, False, True, 0),
                   brewery + "jvb-i-0ccc": bridge(0.0, "null", "null", False, True, False, 0)}},
               # JibriDetector.kt debugState: each instance by nickname, beside two plain keys.
               "jibri_detector": {"is_sip": False,
                                  "brewery_jid": "JibriBrewery@internal.auth.meet.example.test",
                                  "jibri-i-0r1": {"health_status": "HEALTHY", "busy_status": "IDLE"},
                                  "jibri-i-0r2": {"health_status": "UNHEALTHY", "busy_status": "BUSY"}},
               "sip_jibri_detector": None, "jigasi_detector": None},
}
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/about/health":
            # jicofo's words when its test conference fails (health/JicofoHealthChecker.kt).
            body = b"Test conference failed to start."
            self.send_response(500)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers(); self.wfile.write(body); return
        if self.path not in answers:
            self.send_response(404); self.end_headers(); return
        body = json.dumps(answers[self.path]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
HTTPServer(("127.0.0.1", 8888), H).serve_forever()
"#;

#[test]
fn status_on_a_signaling_node_lists_each_bridge_jicofo_sees() {
    let root = Root::new();
    root.write("/etc/machine-id", "66666666666666666666666666666666\n");
    root.config(
        "00.toml",
        &format!(
            "[source]\nprovider = \"none\"\n[server]\ndomain = \"{DOMAIN}\"\nrole = \"signaling\"\n\
             [bridges]\nallow_cidrs = [\"{BRIDGE}/32\"]\n"
        ),
    );
    let out = root.run(&["run"]);
    assert_eq!(root.step("jitsi")["state"], "ok", "{}", text(&out));
    // A namespace of the test's own, so that the stand-in's 127.0.0.1:8888 is the test's.
    let ns = loopback_ns("ryobr-j");
    let _jicofo = KillOnDrop(
        Net::exec(&ns.0, &["/usr/bin/python3", "-c", JICOFO_STANDIN])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while python(&ns.0, PROBE, &["127.0.0.1", "8888"]) != "CONNECTED" {
        assert!(
            Instant::now() < deadline,
            "the jicofo stand-in did not listen"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let report = status_json(&ns.0, &root);
    let bridges = &report["deployment"]["bridges"];
    assert_eq!(bridges["bridge_count"], 3, "{report:#}");
    assert_eq!(bridges["list_error"], serde_json::Value::Null, "{report:#}");
    let list = bridges["list"].as_array().unwrap();
    assert_eq!(list.len(), 3, "{report:#}");
    assert_eq!(list[0]["id"], "jvb-i-0aaa");
    assert_eq!(
        list[0]["jid"],
        "jvbbrewery@internal.auth.meet.example.test/jvb-i-0aaa"
    );
    assert_eq!(list[0]["stress"], 0.25);
    assert_eq!(list[0]["version"], "2.3.209-gd1b4a1b");
    assert_eq!(list[0]["region"], "eu-central-1");
    assert_eq!(list[0]["operational"], true);
    assert_eq!(list[1]["graceful_shutdown"], true);
    assert_eq!(list[2]["operational"], false);
    assert_eq!(list[2]["version"], serde_json::Value::Null);
    let reasons = report["reasons"].to_string();
    assert!(
        reasons.contains("deployment: jicofo sees bridge jvb-i-0ccc but does not use it"),
        "{reasons}"
    );
    // jicofo's own verdict, /about/health (issue 19 item 3).
    assert_eq!(
        report["deployment"]["jicofo_unhealthy"],
        "jicofo reports itself unhealthy (http://127.0.0.1:8888/about/health answered 500: Test conference failed to start.); see `journalctl -u jicofo`",
        "{report:#}"
    );
    assert!(
        reasons.contains("deployment: jicofo reports itself unhealthy"),
        "{reasons}"
    );
    assert!(
        reasons.contains("deployment: recorder jibri-i-0r2 reports itself unhealthy"),
        "{reasons}"
    );
    assert_eq!(report["deployment"]["recorders"]["available"], 1);

    let human = status_text(&ns.0, &root);
    for line in [
        "role         signaling: jicofo sees 3 bridge(s), 2 operational, 1 shutting down",
        "bridge       jvb-i-0aaa: stress 0.25, version 2.3.209-gd1b4a1b, region eu-central-1, 3 endpoint(s), operational",
        "bridge       jvb-i-0bbb: stress 0.05, version 2.3.209-gd1b4a1b, region eu-central-1, 0 endpoint(s), shutting down gracefully",
        "bridge       jvb-i-0ccc: stress 0.00, version unknown, region none, 0 endpoint(s), not operational",
        "recorders    jicofo sees 2 recorder(s), 1 available",
        "recorder     jibri-i-0r1: idle, healthy",
        "recorder     jibri-i-0r2: busy, unhealthy",
    ] {
        assert!(human.contains(line), "{line} missing:\n{human}");
    }
}

/// jibri's health API (jitsi/jibri doc/http_api.md) answering busy and healthy on
/// 127.0.0.1:2222, in the test's own namespace.
const JIBRI_STANDIN: &str = r#"
import json
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/jibri/api/v1.0/health":
            self.send_response(404); self.end_headers(); return
        body = json.dumps({"status": {"busyStatus": "BUSY", "health": {
            "healthStatus": "HEALTHY", "details": {}}},
            "environmentContext": {"name": "meet.example.test"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
HTTPServer(("127.0.0.1", 2222), H).serve_forever()
"#;

#[test]
fn status_on_a_recorder_says_what_jibri_records_and_whether_it_answers() {
    let pair =
        meet_agent::bridge::xmpp_cert::generate(DOMAIN, time::OffsetDateTime::now_utc()).unwrap();
    let token = meet_agent::bridge::token::Token::for_recorder(
        "127.0.0.1",
        5222,
        DOMAIN,
        "control-password-0123456789abcdef",
        "call-password-0123456789abcdef01",
        &pair.chain_pem(),
    )
    .unwrap();
    let root = Root::new();
    root.write("/etc/machine-id", "44444444444444444444444444444444\n");
    root.config(
        "00.toml",
        &format!(
            "[source]\nprovider = \"none\"\n[server]\ndomain = \"{DOMAIN}\"\nrole = \"recorder\"\n\
             [bridge]\njoin = \"{}\"\n",
            token.encode()
        ),
    );
    let out = root.run(&["run"]);
    assert_recorder_rendered(&root, &out);
    let ns = loopback_ns("ryobr-r");

    // Nothing answers on 2222 yet: status says so, as a reason.
    let report = status_json(&ns.0, &root);
    let recorder = &report["deployment"]["recorder"];
    assert_eq!(report["deployment"]["role"], "recorder", "{report:#}");
    assert!(
        recorder["jibri_error"]
            .as_str()
            .unwrap_or("")
            .starts_with("jibri at http://127.0.0.1:2222/jibri/api/v1.0/health does not answer"),
        "{report:#}"
    );
    assert!(
        report["reasons"]
            .to_string()
            .contains("deployment: jibri at"),
        "{report:#}"
    );

    // jibri busy with a recording of `weekly_sync`, 3 MiB so far.
    let session = root.join("/var/lib/ryo-jitsi/jibri/abc123");
    std::fs::create_dir_all(&session).unwrap();
    std::fs::write(
        session.join("weekly_sync_2026-12-04-19-12-55.mp4"),
        vec![0u8; 3 << 20],
    )
    .unwrap();
    let _jibri = KillOnDrop(
        Net::exec(&ns.0, &["/usr/bin/python3", "-c", JIBRI_STANDIN])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while python(&ns.0, PROBE, &["127.0.0.1", "2222"]) != "CONNECTED" {
        assert!(
            Instant::now() < deadline,
            "the jibri stand-in did not listen"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let report = status_json(&ns.0, &root);
    let recorder = &report["deployment"]["recorder"];
    assert_eq!(recorder["jibri"]["busy"], "busy", "{report:#}");
    assert_eq!(recorder["jibri"]["healthy"], true, "{report:#}");
    assert_eq!(recorder["recording"]["room"], "weekly_sync", "{report:#}");
    assert_eq!(recorder["recording"]["bytes"], 3 << 20, "{report:#}");
    // The signaling node (127.0.0.1:5222 here, where nothing listens) is probed as jibri
    // would reach it, from jibri.conf and the token's anchor.
    assert_eq!(
        report["deployment"]["signaling"]["host"], "127.0.0.1",
        "{report:#}"
    );
    let human = status_text(&ns.0, &root);
    for line in [
        "role         recorder: jibri busy, healthy",
        "recording    weekly_sync for 0 min, 3 MiB so far",
    ] {
        assert!(human.contains(line), "{line} missing:\n{human}");
    }
}

/// A SIP gateway on the node itself (`sip.local`, an open site): jigasi's rendered file
/// logs in to the real prosody as `jigasi@auth.DOMAIN` with this instance's password,
/// verifying prosody's certificate for auth.DOMAIN against the one anchor the node
/// installed for it (jigasi checks its account's domain in the JVM's store; a real jigasi
/// refused the site's self-signed certificate here), and joins JigasiBrewery with
/// jigasi's stats presence, where jicofo's account sees it offer SIP. Each call's login
/// is the same account, verified the same way, on a domain jicofo.conf trusts (slixmpp
/// stands in for jigasi, which cannot be installed here, and for jicofo).
#[test]
fn a_local_sip_gateway_logs_in_with_its_rendered_file_and_joins_jigasi_brewery() {
    let root = Root::new();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    root.write("/etc/machine-id", "51951951951951951951951951951951\n");
    let data = root.join("/var/lib/prosody");
    std::fs::create_dir_all(&data).unwrap();
    chown_prosody(&data);
    root.config(
        "00.toml",
        &format!(
            "[source]\nprovider = \"none\"\n[server]\ndomain = \"{DOMAIN}\"\n\
             {SIP_ACCOUNT}local = true\n"
        ),
    );
    let message = jigasi_rendered(&root, &format!("jigasi@auth.{DOMAIN}"));
    assert!(!message[1..].contains("; this machine lacks"), "{message}");
    assert!(
        message.contains(&format!(
            "this node's certificate for auth.{DOMAIN} written to /usr/local/share/ca-certificates/"
        )),
        "{message}"
    );
    let own = std::fs::read_to_string(root.join(meet_agent::bridge::xmpp_cert::CERT)).unwrap();
    let anchor = trusted_anchor(&root, &own);
    // jicofo believes the calls' account when it says it is jigasi.
    let jicofo = std::fs::read_to_string(root.join(meet_agent::jitsi::jicofo::CONF)).unwrap();
    assert!(
        jicofo.contains(&format!(
            "trusted-domains = [ \"recorder.{DOMAIN}\", \"auth.{DOMAIN}\" ]"
        )),
        "{jicofo}"
    );
    let Jigasi {
        props,
        jid,
        password,
        host,
        brewery,
    } = jigasi_login(&root);
    assert_eq!(
        props["org.jitsi.jigasi.ALLOWED_JID"], brewery,
        "dial requests only from the brewery"
    );

    let net = Net::new();
    let prosody_dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(prosody_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let main = servable(&root, prosody_dir.path());
    let _prosody = run_prosody(&net.signaling, &main);
    let log =
        || std::fs::read_to_string(prosody_dir.path().join("prosody.log")).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(15);
    while python(&net.signaling, PROBE, &[&host, "5222"]) != "CONNECTED" {
        assert!(
            Instant::now() < deadline,
            "prosody did not answer: {}",
            log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let secrets = secrets_of(&root);
    assert_eq!(password, secrets["jigasi_password"].as_str().unwrap());
    // jigasi first: it creates the brewery itself when jicofo has not yet (it joins only
    // once per login), then jicofo's account arrives and sees it.
    let anchor_path = anchor.display().to_string();
    joins_and_is_seen(
        &net,
        &net.signaling,
        (&jid, &password, &host, &brewery),
        ("jigasi-1", &anchor_path),
        secrets["focus_password"].as_str().unwrap(),
        &log,
    );
    // Each call's own login on this open site: the same account, the same check.
    let call = "org.jitsi.jigasi.xmpp.acc";
    assert_eq!(props[&format!("{call}.USER_ID")], jid);
    assert_eq!(props[&format!("{call}.ANONYMOUS_AUTH")], "false");
    let session = python(
        &net.signaling,
        CLIENTS,
        &[
            "login",
            &props[&format!("{call}.USER_ID")],
            &props[&format!("{call}.PASS")],
            &host,
            &anchor_path,
        ],
    );
    assert_eq!(session, "SESSION", "prosody's log:\n{}", log());
    // The check can fail: trusting the site's own certificate instead of the anchor, the
    // certificate prosody presents is refused (its issuer is not trusted).
    let site = root
        .join("/etc/meet-agent/tls/fullchain.pem")
        .display()
        .to_string();
    let refused = python(
        &net.signaling,
        CLIENTS,
        &["login", &jid, &password, &host, &site],
    );
    assert_eq!(refused, "TLS-REFUSED", "prosody's log:\n{}", log());
    let wrong = python(
        &net.signaling,
        CLIENTS,
        &[
            "jigasi",
            &jid,
            "not-the-password",
            &host,
            &brewery,
            "jigasi-2",
        ],
    );
    assert_eq!(wrong, "AUTH-FAILED", "the check can fail");

    // jigasi moved off the node (sip.local off): the anchor goes too.
    root.config(
        "00.toml",
        &format!("[source]\nprovider = \"none\"\n[server]\ndomain = \"{DOMAIN}\"\n{SIP_ACCOUNT}"),
    );
    let out = root.run(&["run"]);
    let jitsi = root.step("jitsi");
    assert!(
        jitsi["message"]
            .as_str()
            .unwrap_or("")
            .contains("the anchor for jigasi no longer trusted"),
        "{jitsi}\n{}",
        text(&out)
    );
    assert!(!anchor.exists(), "{}", anchor.display());
}

/// jigasi's REST API on 127.0.0.1:8788 (`/about/health`, `/about/stats`) and jicofo's on
/// 127.0.0.1:8888 (`/stats`), answering from files in the folder given: `health` (the
/// status code), `stats.json` and `jicofo.json`, read at each request so the test can
/// change them.
const SIP_STANDINS: &str = r#"
import sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
d = sys.argv[1]
def read(name):
    with open(d + "/" + name, "rb") as f:
        return f.read()
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        port = self.server.server_address[1]
        if port == 8788 and self.path == "/about/health":
            code, body = int(read("health")), b"{}"
        elif port == 8788 and self.path == "/about/stats":
            code, body = 200, read("stats.json")
        elif port == 8888 and self.path == "/stats":
            code, body = 200, read("jicofo.json")
        else:
            code, body = 404, b""
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
for port in (8788, 8888):
    s = ThreadingHTTPServer(("127.0.0.1", port), H)
    threading.Thread(target=s.serve_forever, daemon=True).start()
threading.Event().wait()
"#;

#[test]
fn status_says_whether_jigasi_is_registered_and_how_many_gateways_jicofo_sees() {
    let root = Root::new();
    root.write("/etc/machine-id", "33333333333333333333333333333333\n");
    root.config(
        "00.toml",
        &format!(
            "[source]\nprovider = \"none\"\n[server]\ndomain = \"{DOMAIN}\"\n\
             {SIP_ACCOUNT}local = true\n"
        ),
    );
    root.run(&["run"]);
    let ns = loopback_ns("ryobr-g");

    // Nothing answers: status says jigasi does not.
    let report = status_json(&ns.0, &root);
    let gateway = &report["sip"]["gateway"];
    assert!(
        gateway["error"]
            .as_str()
            .unwrap_or("")
            .starts_with("jigasi at http://127.0.0.1:8788/about/health does not answer"),
        "{report:#}"
    );
    assert!(
        report["reasons"].to_string().contains("sip: jigasi at"),
        "{report:#}"
    );

    // Not registered: the registrar's refusal from jigasi's log; jicofo sees no gateway.
    root.write(
        "/var/log/jitsi/jigasi.log",
        "INFO: registering\nWARNING: [42] SipRegistrarConnection: Server returned error:Forbidden\n",
    );
    let answers = tempfile::tempdir().unwrap();
    let put = |name: &str, text: &str| std::fs::write(answers.path().join(name), text).unwrap();
    put("health", "503");
    put("stats.json", r#"{"conferences": 1, "participants": 2}"#);
    put(
        "jicofo.json",
        r#"{"jigasi_detector": {"sip_count": 0, "sip_in_graceful_shutdown_count": 0, "transcriber_count": 0}}"#,
    );
    let _standins = KillOnDrop(
        Net::exec(&ns.0, &["/usr/bin/python3", "-c", SIP_STANDINS])
            .arg(answers.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while python(&ns.0, PROBE, &["127.0.0.1", "8888"]) != "CONNECTED" {
        assert!(Instant::now() < deadline, "the stand-ins did not listen");
        std::thread::sleep(Duration::from_millis(100));
    }
    let report = status_json(&ns.0, &root);
    let gateway = &report["sip"]["gateway"];
    assert_eq!(gateway["jigasi"]["registered"], false, "{report:#}");
    assert_eq!(gateway["registrar_said"], "Forbidden", "{report:#}");
    let reasons = report["reasons"].to_string();
    assert!(
        reasons.contains(
            "sip: jigasi is not registered at sip.example.net, which answered \\\"Forbidden\\\" (jigasi's log)"
        ),
        "{report:#}"
    );
    assert!(
        reasons.contains("sip: jicofo sees no SIP gateway in JigasiBrewery"),
        "{report:#}"
    );
    assert!(
        status_text(&ns.0, &root)
            .contains("sip          jigasi not registered at sip.example.net: \"Forbidden\""),
        "{}",
        status_text(&ns.0, &root)
    );

    // Registered, carrying a call; jicofo sees it.
    put("health", "200");
    put(
        "jicofo.json",
        r#"{"jigasi_detector": {"sip_count": 1, "sip_in_graceful_shutdown_count": 0, "transcriber_count": 0}}"#,
    );
    let report = status_json(&ns.0, &root);
    assert!(
        !report["reasons"].to_string().contains("sip:"),
        "{report:#}"
    );
    let human = status_text(&ns.0, &root);
    for line in [
        "sip          jigasi registered at sip.example.net; 1 call(s), 2 phone participant(s)",
        "gateways     jicofo sees 1 SIP gateway(s)",
    ] {
        assert!(human.contains(line), "{line} missing:\n{human}");
    }
}
