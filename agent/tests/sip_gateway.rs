//! Phones in meetings, `sip.local`: the SIP account meet-agent renders for jigasi
//! registers at a real SIP registrar (Debian's kamailio, digest authentication) when a
//! real SIP client (Debian's baresip) uses exactly the rendered parameters, read back the
//! way jigasi reads them (Java properties, base64 password), over UDP and TCP; a wrong
//! password does not. jigasi itself is not in Debian (Jitsi's repository is not reachable
//! here), so baresip stands in for its SIP stack: what is tested is the account, not
//! jigasi's registration code. Both run in a private network namespace with loopback only.
//!
//! The password is the file's alone: not in meet-agent's output, its state, the effective
//! configuration it saves or any other rendered file; the file is 0600.

mod common;

use base64::Engine;
use common::{text, Root};
use std::collections::BTreeMap;
use std::process::Command;

const DOMAIN: &str = "meet.example.test";
const SIP_USER: &str = "meet-gw";
/// Characters a properties file and a SIP client must carry unchanged (`:` and `=` are
/// key separators in a properties key, `é` is escaped as `\u00E9`).
const SIP_PASSWORD: &str = "Pw:=!é~7x-registrar";
const SIP_DOMAIN: &str = "sip.example.test";

/// A server with jigasi on it, registering at 127.0.0.1:`port` over `transport`.
fn site(transport: &str, port: u16, password: &str) -> Root {
    let root = Root::new();
    root.write("/etc/machine-id", "5195195195195195195195195195195a\n");
    root.config(
        "00.toml",
        &format!(
            "[source]\nprovider = \"none\"\n[server]\ndomain = \"{DOMAIN}\"\npublic_ipv4 = \"203.0.113.7\"\n\
             [jitsi]\nauth = \"secure-domain\"\n\
             [sip]\nserver = \"127.0.0.1\"\nport = {port}\ntransport = \"{transport}\"\n\
             username = \"{SIP_USER}\"\npassword = \"{password}\"\ndomain = \"{SIP_DOMAIN}\"\nlocal = true\n\
             default_room = \"lobby\"\n[sip.dial_in_numbers]\nUS = [\"+1 555 0100\"]\n"
        ),
    );
    root
}

/// A registrar that accepts `SIP_USER@SIP_DOMAIN` with `SIP_PASSWORD` only, by digest.
fn kamailio_cfg(port: u16) -> String {
    format!(
        r#"#!KAMAILIO
debug=2
log_stderror=yes
children=1
listen=udp:127.0.0.1:{port}
listen=tcp:127.0.0.1:{port}
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "auth.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "xlog.so"
request_route {{
  if (!is_method("REGISTER")) {{ sl_send_reply("405", "Method Not Allowed"); exit; }}
  if ($fd != "{SIP_DOMAIN}" || $fU != "{SIP_USER}") {{
    xlog("L_NOTICE", "REFUSED address $fu\n");
    sl_send_reply("403", "Forbidden");
    exit;
  }}
  if (!pv_www_authenticate("$td", "{SIP_PASSWORD}", "0")) {{ www_challenge("$td", "0"); exit; }}
  if ($au != "{SIP_USER}") {{ sl_send_reply("403", "Forbidden"); exit; }}
  save("location");
  xlog("L_NOTICE", "REGISTERED $fu over $pr\n");
  exit;
}}
"#
    )
}

/// Registers with the rendered account's parameters, as a SIP client given jigasi's
/// file would: kamailio and baresip in a network namespace of their own. Returns
/// baresip's and kamailio's output.
fn register(root: &Root, props: &BTreeMap<String, String>) -> (String, String) {
    let acc = "net.java.sip.communicator.impl.protocol.sip.acc-sip-1";
    let get = |key: &str| {
        props
            .get(&format!("{acc}.{key}"))
            .unwrap_or_else(|| panic!("the rendered account lacks {key}: {props:#?}"))
            .clone()
    };
    let user_id = get("USER_ID");
    let password = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(get("PASSWORD"))
            .expect("PASSWORD is base64 (jigasi decodes it)"),
    )
    .expect("UTF-8");
    let proxy = get("PROXY_ADDRESS");
    let port: u16 = get("PROXY_PORT").parse().expect("a port");
    let transport = get("PREFERRED_TRANSPORT").to_ascii_lowercase();
    assert_eq!(get("PROXY_AUTO_CONFIG"), "false");
    assert_eq!(get("SERVER_ADDRESS"), proxy);
    assert_eq!(get("ACCOUNT_UID"), format!("SIP:{user_id}"));
    let dir = root.join("/tmp/sip-test");
    std::fs::create_dir_all(dir.join("baresip")).unwrap();
    std::fs::write(dir.join("kamailio.cfg"), kamailio_cfg(port)).unwrap();
    std::fs::write(
        dir.join("baresip/config"),
        "poll_method epoll\nsip_listen 127.0.0.1:0\nmodule_path /usr/lib/baresip/modules\n\
         module_app account.so\naudio_player null\naudio_source null\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("baresip/accounts"),
        format!(
            "<sip:{user_id};transport={transport}>;auth_pass={password};outbound=\"sip:{proxy}:{port};transport={transport}\";regint=60\n"
        ),
    )
    .unwrap();
    let script = format!(
        "set -e\nip link set lo up\n\
         kamailio -f {d}/kamailio.cfg -DD -E >{d}/kamailio.log 2>&1 &\nk=$!\n\
         for _ in $(seq 50); do ss -ltn | grep -q ':{port} ' && break; sleep 0.1; done\n\
         timeout 20 baresip -4 -n 127.0.0.1 -f {d}/baresip -t 3 >{d}/baresip.log 2>&1 || true\n\
         kill $k; wait $k || true\n",
        d = dir.display()
    );
    let out = Command::new("unshare")
        .args(["--net", "bash", "-c", &script])
        .output()
        .expect("unshare");
    assert!(out.status.success(), "{}", text(&out));
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    (read("baresip.log"), read("kamailio.log"))
}

#[test]
fn the_rendered_account_registers_at_a_real_registrar_over_udp_and_tcp() {
    for (transport, port) in [("udp", 5060u16), ("tcp", 5080)] {
        let root = site(transport, port, SIP_PASSWORD);
        let out = root.run(&["run"]);
        assert!(
            root.step("jitsi")["message"]
                .as_str()
                .unwrap_or("")
                .contains("/etc/jitsi/jigasi/sip-communicator.properties rendered"),
            "{}",
            text(&out)
        );
        let file = root.join("/etc/jitsi/jigasi/sip-communicator.properties");
        let props = common::java_properties(&std::fs::read_to_string(&file).unwrap());
        let (baresip, kamailio) = register(&root, &props);
        let wire = transport.to_ascii_uppercase();
        assert!(
            baresip.contains(&format!("{SIP_USER}@{SIP_DOMAIN}: {{0/{wire}/v4}} 200 OK")),
            "{transport}: no registration:\n{baresip}\n{kamailio}"
        );
        assert!(
            kamailio.contains(&format!(
                "REGISTERED sip:{SIP_USER}@{SIP_DOMAIN} over {transport}"
            )),
            "{kamailio}"
        );
        // The rest of what jigasi needs from the same file.
        assert_eq!(props["org.jitsi.jigasi.DEFAULT_JVB_ROOM_NAME"], "lobby");
        assert_eq!(
            props["net.java.sip.communicator.impl.protocol.jabber.acc-xmpp-1.BREWERY"],
            format!("JigasiBrewery@internal.auth.{DOMAIN}")
        );
    }
}

#[test]
fn a_wrong_password_in_the_configuration_is_refused_by_the_registrar() {
    // The check above is only worth something if a different password fails it.
    let root = site("udp", 5060, "Pw:=!é~7x-typo");
    root.run(&["run"]);
    let file = root.join("/etc/jitsi/jigasi/sip-communicator.properties");
    let props = common::java_properties(&std::fs::read_to_string(&file).unwrap());
    let (baresip, kamailio) = register(&root, &props);
    assert!(
        baresip.contains("401 Unauthorized") && !baresip.contains("200 OK"),
        "{baresip}\n{kamailio}"
    );
}

#[test]
fn the_sip_password_is_only_in_jigasis_own_file() {
    let root = site("tls", 5061, SIP_PASSWORD);
    let out = root.run(&["run"]);
    let file = root.join("/etc/jitsi/jigasi/sip-communicator.properties");
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(&file).expect("rendered");
    // No jigasi user here: root's alone; on an image with jigasi, jigasi's (0600 both).
    assert_eq!(meta.mode() & 0o7777, 0o600);
    let encoded = base64::engine::general_purpose::STANDARD.encode(SIP_PASSWORD);
    let show = root.run(&["config", "show"]);
    let status = root.run(&["status"]);
    for (what, out) in [("run", &out), ("config show", &show), ("status", &status)] {
        let said = text(out);
        assert!(
            !said.contains(SIP_PASSWORD) && !said.contains(&encoded),
            "{what} shows the SIP password:\n{said}"
        );
    }
    // Every file under the root but the operator's own configuration and jigasi's.
    let mut holders = Vec::new();
    let mut stack = vec![root.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let bytes = std::fs::read(&path).unwrap_or_default();
                let body = String::from_utf8_lossy(&bytes);
                if body.contains(SIP_PASSWORD) || body.contains(&encoded) {
                    holders.push(path);
                }
            }
        }
    }
    let config = root.join("/etc/meet-agent/config.d/00.toml");
    holders.retain(|p| *p != config);
    assert_eq!(holders, [file], "files holding the SIP password");
}
