//! jibri's `jibri.conf` (HOCON) on a recorder: the XMPP environment that joins the
//! signaling node (control login on `auth.DOMAIN`, jicofo's `JibriBrewery`, the hidden
//! call login on `recorder.DOMAIN`), where recordings go and what runs when one ends, the
//! live streaming targets allowed, and statsd off.
//!
//! Follows jitsi/jibri at 62369d55eaf5 (2026-08-05): `resources/debian-package` (the
//! package ships an empty `jibri {}`), `doc/example_xmpp_envs.conf` and the parser of an
//! environment's keys (`src/main/kotlin/org/jitsi/jibri/config/JibriConfig.kt`,
//! `toXmppEnvironment`: those keys are not in reference.conf), and
//! jitsi/docker-jitsi-meet `jibri/rootfs/defaults/jibri.conf` and `xmpp.conf` (72c92aeb,
//! 2026-08-05). Every other key is checked against jibri's `reference.conf` by the tests.
//! docs/upstream/jibri.md has the digest this was written from.

use super::hocon::{include_local, quote};
use std::fmt::Write;

/// jibri's configuration (launch.sh passes it as `-Dconfig.file`).
pub const CONF: &str = crate::paths::JIBRI_CONF;
/// The operator's HOCON additions, included last.
pub const LOCAL: &str = "/etc/meet-agent/jibri.local.conf";
/// jibri's spool: it writes `<session>/<room>_<time>.mp4` and `metadata.json` here, and
/// the finalize script moves each finished recording out to
/// [`crate::recording::store::RECORDINGS`].
pub const SPOOL: &str = crate::recording::spool::SPOOL;
/// What jibri runs with the session's folder when a recording ends: the image's wrapper
/// around `meet-agent recording finalize`, which only queues the upload, so that jibri
/// (busy until the script exits) is free for the next recording at once.
pub const FINALIZE: &str = "/usr/lib/ryo-jitsi/jibri-finalize";
/// The recording's frame size: the mode of the Xorg dummy screen jibri's package starts
/// (jitsi/jibri 62369d55 resources/debian-package/etc/jitsi/jibri/xorg-video-dummy.conf,
/// `Modes "1920x1080"`), which ffmpeg grabs from its top-left corner: a smaller size here
/// would crop every recording. (docker-jitsi-meet's 1280x720 changes both.)
pub const RESOLUTION: &str = "1920x1080";

/// What the renderer needs.
pub struct Inputs<'a> {
    /// The deployment's domain (meetings are at `https://DOMAIN/ROOM`).
    pub domain: &'a str,
    /// The signaling node's XMPP server, as this recorder reaches it.
    pub host: &'a str,
    /// Its client port.
    pub port: u16,
    /// The shared control account's user name and password on `auth.DOMAIN`.
    pub control: (&'a str, &'a str),
    /// The hidden account's user name and password on `recorder.DOMAIN`.
    pub call: (&'a str, &'a str),
    /// This recorder's nickname in the brewery (unique per recorder: jicofo tells them
    /// apart by it).
    pub nickname: &'a str,
    /// Verify the XMPP server's certificate (the signaling node's, trusted from the join
    /// token); off only for a recorder on the signaling node itself, over loopback.
    pub verify_certificate: bool,
    /// jibri's `rtmp-allow-list`; empty: live streaming is refused.
    pub rtmp_allow: &'a [String],
}

/// Renders `jibri.conf`.
pub fn render(i: &Inputs<'_>) -> String {
    let n = crate::plan::xmpp::XmppNames::new(i.domain);
    let mut o = String::new();
    // `writeln!` into a String cannot fail.
    let _ = writeln!(
        o,
        "# Managed by meet-agent and rewritten at every boot from its configuration\n\
         # ([recording], bridge.join); put additions in {LOCAL}.\n\
         # Follows jitsi/jibri 62369d55eaf5 (2026-08-05) doc/example_xmpp_envs.conf and\n\
         # jitsi/docker-jitsi-meet jibri/rootfs/defaults/jibri.conf and xmpp.conf (72c92aeb).\n\
         jibri {{\n  \
           id = {nickname}\n  \
           single-use-mode = false\n  \
           api {{\n    \
             xmpp {{\n      \
               environments = [\n        \
                 {{\n          \
                   name = {domain}\n          \
                   xmpp-server-hosts = [ {host} ]\n          \
                   xmpp-domain = {domain}\n          \
                   control-login {{\n            \
                     domain = {auth}\n            \
                     port = {port}\n            \
                     username = {control_user}\n            \
                     password = {control_password}\n          \
                   }}\n          \
                   control-muc {{\n            \
                     domain = {internal}\n            \
                     room-name = {brewery}\n            \
                     nickname = {nickname}\n          \
                   }}\n          \
                   call-login {{\n            \
                     domain = {recorder}\n            \
                     username = {call_user}\n            \
                     password = {call_password}\n          \
                   }}\n          \
                   # The room JID's MUC host is conference.DOMAIN: what remains is the web\n          \
                   # site the browser opens.\n          \
                   strip-from-room-domain = \"conference.\"\n          \
                   # No limit on a recording's length (0 is unlimited).\n          \
                   usage-timeout = \"0 minutes\"\n          \
                   # {trust_why}\n          \
                   trust-all-xmpp-certs = {trust_all}\n          \
                   security-mode = required\n        \
                 }}\n      \
               ]\n    \
             }}\n  \
           }}\n  \
           recording {{\n    \
             recordings-directory = {spool}\n    \
             finalize-script = {finalize}\n  \
           }}\n  \
           streaming {{\n    \
             # Whole-URL Java regular expressions (recording.rtmp_allow); an empty list\n    \
             # refuses every stream.\n    \
             rtmp-allow-list = [{allow}]\n  \
           }}\n  \
           ffmpeg {{\n    \
             resolution = {resolution}\n  \
           }}\n  \
           # No statsd daemon runs here (reference.conf's default sends to localhost:8125).\n  \
           stats {{\n    \
             enable-stats-d = false\n  \
           }}\n\
         }}",
        nickname = quote(i.nickname),
        domain = quote(i.domain),
        host = quote(i.host),
        auth = quote(&n.auth),
        port = i.port,
        control_user = quote(i.control.0),
        control_password = quote(i.control.1),
        internal = quote(&n.internal),
        brewery = quote(crate::plan::xmpp::JIBRI_BREWERY_ROOM),
        recorder = quote(&n.recorder),
        call_user = quote(i.call.0),
        call_password = quote(i.call.1),
        trust_why = if i.verify_certificate {
            "The signaling node's certificate for auth.DOMAIN is trusted from the join token."
        } else {
            "prosody on this machine, over loopback: nothing on the way to verify."
        },
        trust_all = !i.verify_certificate,
        spool = quote(SPOOL),
        finalize = quote(FINALIZE),
        allow = i
            .rtmp_allow
            .iter()
            .map(|p| format!(" {}", quote(p)))
            .collect::<Vec<_>>()
            .join(",")
            + if i.rtmp_allow.is_empty() { "" } else { " " },
        resolution = quote(RESOLUTION),
    );
    o.push_str(&include_local(LOCAL));
    o
}

#[cfg(test)]
mod tests {
    /// The script jibri.conf names is the one the package installs there, and it runs the
    /// finalize that only queues (its behaviour: tests/recording_s3.rs).
    #[test]
    fn the_finalize_script_is_packaged_where_jibri_conf_names_it() {
        let script = include_str!("../../../image/files/usr/lib/ryo-jitsi/jibri-finalize");
        assert!(
            script.contains("exec /usr/bin/meet-agent recording finalize \"$1\""),
            "{script}"
        );
        let build_deb = include_str!("../../../packaging/build-deb");
        let installed = format!("\"$stage{}\"", super::FINALIZE);
        assert!(
            build_deb
                .lines()
                .any(|l| l.contains("jibri-finalize") && l.ends_with(&installed)),
            "packaging/build-deb installs it at {}",
            super::FINALIZE
        );
    }
}
