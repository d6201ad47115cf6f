//! Every configuration file the jitsi step writes, decided in one place without I/O: from
//! the settings, the machine's role, identity and secrets, and the few facts the step
//! reads from disk beforehand (which Jitsi packages are installed, the operator's local
//! files, nginx's MIME types). The step writes what this returns; the golden tests call it
//! with fixed inputs, so the step's wiring is what they check.

use super::secrets::Secrets;
use super::{
    coturn, dial_in, jibri, jicofo, jigasi, nginx, prosody, videobridge, web, JitsiSettings,
};
use crate::apply::Service;
use crate::bridge::roles::RoleSettings;
use crate::bridge::xmpp_cert;
use crate::paths::{TLS_FULLCHAIN, TLS_PRIVKEY};
use crate::recording::RecordingSettings;
use crate::state::Identity;
use crate::vocab::Role;

/// One file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Its path on the machine.
    pub path: String,
    /// Its content.
    pub text: String,
    /// The group that may read it (it holds secrets: mode 0640), or none (0644).
    pub group: Option<&'static str>,
    /// The one user that may read it (its secrets are that service's alone: its own,
    /// mode 0600); wins over `group`.
    pub owner: Option<&'static str>,
    /// The service that reads it, refreshed when it changes.
    pub unit: crate::apply::Service,
}

/// What the files are made from.
pub struct Inputs<'a> {
    /// The site's domain (the deployment's, on a videobridge); without one only coturn and
    /// the nginx site (its placeholder) are made.
    pub domain: Option<&'a str>,
    /// `[jitsi]`.
    pub jitsi: &'a JitsiSettings,
    /// `server.role` and its keys.
    pub roles: &'a RoleSettings,
    /// `[recording]`.
    pub recording: &'a RecordingSettings,
    /// `[sip]`.
    pub sip: &'a crate::sip::SipSettings,
    /// This instance's secrets.
    pub secrets: &'a Secrets,
    /// Addresses and size.
    pub identity: &'a Identity,
    /// This instance's id (the bridge's nickname in a deployment).
    pub instance_id: Option<&'a str>,
    /// Jitsi's prosody plugins are installed (jitsi-meet-prosody).
    pub jitsi_plugins: bool,
    /// Jitsi's web app is installed (jitsi-meet-web).
    pub jitsi_meet: bool,
    /// `/etc/meet-agent/coturn.local.conf`, if any.
    pub coturn_local: Option<&'a str>,
    /// The web app's local additions, if any.
    pub web_local: Option<&'a str>,
    /// nginx's `mime.types`, if readable.
    pub mime_types: Option<&'a str>,
    /// TURN shares port 443 through nginx's stream module (host, TURN TLS port).
    pub turn_on_443: Option<(&'a str, u16)>,
    /// auth.DOMAIN's own certificate (bridge/xmpp_cert) is in place: prosody presents it
    /// for auth.DOMAIN, to bridges of other machines on a signaling node and to a jigasi on
    /// this machine.
    pub auth_cert: bool,
}

/// The region relays report when neither `bridge.region` nor the instance source gives one.
pub const DEFAULT_REGION: &str = crate::vocab::ports::DEFAULT_REGION;

/// The bridge's name in the brewery MUC: the instance id on a bridge of a deployment
/// (bridges share the `jvb` account, so the nickname tells them apart), else the name
/// derived from this machine's secrets.
pub fn bridge_nickname(role: Role, instance_id: Option<&str>, secrets: &Secrets) -> String {
    match (role, instance_id) {
        (Role::Videobridge, Some(id)) => {
            let clean: String = id
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .take(60)
                .collect();
            format!("jvb-{clean}")
        }
        _ => secrets.bridge_nickname(),
    }
}

/// A recorder's name in jibri's brewery: the instance id on a machine that has one, else
/// derived from this machine's own TURN secret (never from a password the token shares,
/// which every recorder of the deployment holds).
pub fn recorder_nickname(instance_id: Option<&str>, secrets: &Secrets) -> String {
    match instance_id {
        Some(id) => {
            let clean: String = id
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .take(60)
                .collect();
            format!("jibri-{clean}")
        }
        None => {
            let digest = ring::digest::digest(
                &ring::digest::SHA256,
                format!("ryo-jitsi recorder nickname {}", secrets.turn_secret).as_bytes(),
            );
            format!("jibri-{}", crate::encoding::hex(&digest.as_ref()[..8]))
        }
    }
}

/// This all-in-one or signaling node serves recorders: its own (`recording.local`) or,
/// on a signaling node, recorders of their own machines.
pub fn offers_recording(role: Role, recording: &RecordingSettings) -> bool {
    role == Role::Signaling || (role == Role::All && recording.local)
}

/// A recorder runs on this all-in-one or signaling node: asked for, and the machine is
/// big enough (the jitsi step says why not otherwise).
pub fn local_recorder(i: &Inputs<'_>) -> bool {
    i.recording.local && i.identity.cpus >= crate::recording::settings::RECORDER_MIN_CPUS
}

/// The files for this machine's role.
pub fn assemble(i: &Inputs<'_>) -> Vec<Rendered> {
    let mut out = Vec::new();
    let role = i.roles.role;
    // `bridge.region` wins; else the instance source's (EC2, Compute Engine) region.
    let region = i
        .roles
        .region
        .as_deref()
        .or(i.identity.instance.region.as_deref())
        .unwrap_or(DEFAULT_REGION);
    let nickname = bridge_nickname(role, i.instance_id, i.secrets);
    if role == Role::Videobridge {
        remote_bridge(&mut out, i, &nickname, region);
        return out;
    }
    if role == Role::Recorder {
        remote_recorder(&mut out, i);
        return out;
    }
    if role == Role::Sip {
        remote_gateway(&mut out, i);
        return out;
    }
    out.push(coturn_file(i));
    let Some(d) = i.domain else {
        out.push(site(i, None));
        return out;
    };
    let signaling = role == Role::Signaling;
    let recorders = offers_recording(role, i.recording);
    out.push(prosody_file(i, d, signaling, recorders));
    out.push(Rendered {
        path: jicofo::CONF.into(),
        text: jicofo::render(&jicofo::Inputs {
            domain: d,
            auth: i.jitsi.auth,
            secrets: i.secrets,
            jitsi_plugins: i.jitsi_plugins,
            relays: signaling.then_some(region),
            recorders,
            sip_gateways: i.sip.offered(),
        }),
        group: Some("jitsi"),
        owner: None,
        unit: Service::Jicofo,
    });
    if i.roles.local_bridge {
        let relay = signaling.then_some(region);
        bridge_files(&mut out, i, videobridge::Signaling::Local, &nickname, relay);
    }
    if local_recorder(i) {
        let nickname = recorder_nickname(i.instance_id, i.secrets);
        out.push(jibri_file(&jibri::Inputs {
            domain: d,
            host: "127.0.0.1",
            port: crate::vocab::ports::XMPP_CLIENT,
            control: (
                crate::bridge::token::RECORDER_USERNAME,
                &i.secrets.jibri_password,
            ),
            call: (
                crate::bridge::token::CALL_USERNAME,
                &i.secrets.recorder_password,
            ),
            nickname: &nickname,
            verify_certificate: false,
            rtmp_allow: &i.recording.rtmp_allow,
        }));
    }
    if let (true, Some(account)) = (i.sip.local, &i.sip.account) {
        gateway_files(
            &mut out,
            &jigasi::Inputs {
                domain: d,
                account,
                xmpp: jigasi::Xmpp::Local,
                xmpp_password: &i.secrets.jigasi_password,
                default_room: i.sip.default_room.as_deref(),
            },
        );
    }
    web_files(&mut out, i, d, recorders);
    out
}

/// A SIP gateway of its own: jigasi joining the signaling node its token names, with the
/// token's account (for its control login and each call's).
fn remote_gateway(out: &mut Vec<Rendered>, i: &Inputs<'_>) {
    let (Some(token), Some(account)) = (&i.roles.join, &i.sip.account) else {
        return;
    };
    gateway_files(
        out,
        &jigasi::Inputs {
            domain: token.domain(),
            account,
            xmpp: jigasi::Xmpp::Remote {
                host: i.roles.signaling_host.as_deref().unwrap_or(token.host()),
                port: token.port(),
            },
            xmpp_password: token.password(),
            default_room: i.sip.default_room.as_deref(),
        },
    );
}

/// jigasi's properties (its alone: the passwords) and its service's environment.
fn gateway_files(out: &mut Vec<Rendered>, inputs: &jigasi::Inputs<'_>) {
    out.push(Rendered {
        path: jigasi::PROPERTIES.into(),
        text: jigasi::render(inputs),
        group: None,
        owner: Some(jigasi::USER),
        unit: Service::Jigasi,
    });
    out.push(Rendered {
        path: jigasi::ENV.into(),
        text: jigasi::render_env(inputs.domain),
        group: None,
        owner: None,
        unit: Service::Jigasi,
    });
}

/// A recorder of its own: jibri.conf joining the signaling node its token names.
fn remote_recorder(out: &mut Vec<Rendered>, i: &Inputs<'_>) {
    let Some(token) = &i.roles.join else {
        return;
    };
    let Some(call) = token.call_login() else {
        return;
    };
    let nickname = recorder_nickname(i.instance_id, i.secrets);
    out.push(jibri_file(&jibri::Inputs {
        domain: token.domain(),
        host: i.roles.signaling_host.as_deref().unwrap_or(token.host()),
        port: token.port(),
        control: (token.username(), token.password()),
        call,
        nickname: &nickname,
        verify_certificate: true,
        rtmp_allow: &i.recording.rtmp_allow,
    }));
}

/// jibri.conf (it holds the accounts' passwords: jibri's group only).
fn jibri_file(inputs: &jibri::Inputs<'_>) -> Rendered {
    Rendered {
        path: jibri::CONF.into(),
        text: jibri::render(inputs),
        group: Some("jibri"),
        owner: None,
        unit: Service::Jibri,
    }
}

/// A videobridge of its own: its files joining the signaling node its token names.
fn remote_bridge(out: &mut Vec<Rendered>, i: &Inputs<'_>, nickname: &str, region: &str) {
    if let Some(token) = &i.roles.join {
        let signaling = videobridge::Signaling::Remote {
            host: i.roles.signaling_host.as_deref().unwrap_or(token.host()),
            port: token.port(),
            auth_domain: token.auth_domain(),
            username: token.username(),
            password: token.password(),
            brewery: token.brewery_muc_jid(),
        };
        bridge_files(out, i, signaling, nickname, Some(region));
    }
}

/// coturn's configuration.
fn coturn_file(i: &Inputs<'_>) -> Rendered {
    Rendered {
        path: coturn::PATH.into(),
        text: coturn::render(
            &i.jitsi.turn,
            i.identity,
            i.secrets,
            (TLS_FULLCHAIN, TLS_PRIVKEY),
            i.coturn_local,
        ),
        group: Some("turnserver"),
        owner: None,
        unit: Service::Coturn,
    }
}

/// prosody's configuration for the site `d` (with the bridges' TLS on a signaling node).
fn prosody_file(i: &Inputs<'_>, d: &str, signaling: bool, recorders: bool) -> Rendered {
    let j = i.jitsi;
    let jwt_secret = j
        .jwt_app_secret
        .as_ref()
        .map_or(i.secrets.jwt_app_secret.as_str(), |s| s.expose());
    Rendered {
        path: prosody::PATH.into(),
        text: prosody::render(&prosody::Inputs {
            domain: d,
            auth: j.auth,
            jwt: j.jwt_app_id.as_deref().map(|id| (id, jwt_secret)),
            secrets: i.secrets,
            turn: &j.turn,
            tls: (TLS_FULLCHAIN, TLS_PRIVKEY),
            jitsi_plugins: i.jitsi_plugins,
            lobby: j.lobby,
            auth_tls: i.auth_cert.then_some((xmpp_cert::CERT, xmpp_cert::KEY)),
            bridges: signaling && i.auth_cert,
            recorders,
            conference_mapper: i.sip.serves_dial_in(),
            sip_gateways: i.sip.offered(),
        }),
        group: Some("prosody"),
        owner: None,
        unit: Service::Prosody,
    }
}

/// The web app's config.js, the nginx site and, with TURN on 443, the stream server.
fn web_files(out: &mut Vec<Rendered>, i: &Inputs<'_>, d: &str, recorders: bool) {
    out.push(Rendered {
        path: web::path(d),
        text: web::render(&web::Inputs {
            domain: d,
            jitsi: i.jitsi,
            recording: recorders.then_some(i.recording),
            dial_in: i.sip.serves_dial_in(),
            local: i.web_local,
        }),
        group: None,
        owner: None,
        unit: Service::Nginx,
    });
    if i.sip.serves_dial_in() {
        out.push(Rendered {
            path: dial_in::NUMBERS.into(),
            text: dial_in::render_numbers(&i.sip.dial_in),
            group: None,
            owner: None,
            unit: Service::Nginx,
        });
    }
    out.push(site(i, Some(d)));
    if let Some((host, port)) = i.turn_on_443 {
        out.push(Rendered {
            path: nginx::STREAM.into(),
            text: nginx::render_stream(host, port),
            group: None,
            owner: None,
            unit: Service::Nginx,
        });
    }
}

/// The nginx site.
fn site(i: &Inputs<'_>, domain: Option<&str>) -> Rendered {
    Rendered {
        path: nginx::SITE.into(),
        text: nginx::render_site(&nginx::Inputs {
            domain,
            jitsi_meet: i.jitsi_meet,
            turn_on_443: i.turn_on_443,
            mime_types: i.mime_types,
            dial_in: domain.is_some() && i.sip.serves_dial_in(),
        }),
        group: None,
        owner: None,
        unit: Service::Nginx,
    }
}

/// jvb.conf and the bridge's environment file.
fn bridge_files(
    out: &mut Vec<Rendered>,
    i: &Inputs<'_>,
    signaling: videobridge::Signaling<'_>,
    nickname: &str,
    relay_region: Option<&str>,
) {
    let inputs = videobridge::Inputs {
        domain: i.domain.unwrap_or_default(),
        secrets: i.secrets,
        public_ipv4: i.identity.public_ipv4,
        local_ipv4: i.identity.local_ipv4,
        signaling,
        nickname,
        relay_region,
    };
    out.push(Rendered {
        path: videobridge::CONF.into(),
        text: videobridge::render_conf(&inputs),
        group: Some("jitsi"),
        owner: None,
        unit: Service::Videobridge,
    });
    out.push(Rendered {
        path: videobridge::ENV.into(),
        text: videobridge::render_env(),
        group: None,
        owner: None,
        unit: Service::Videobridge,
    });
}
