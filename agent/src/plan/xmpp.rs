//! The XMPP names of a Jitsi site, derived from its domain in one place: prosody's hosts
//! and components, jicofo's and the bridge's accounts and MUCs, the web app's hosts and the
//! join token all use these. The layout is upstream's (jitsi/jitsi-meet
//! doc/debian/jitsi-meet-prosody/prosody.cfg.lua-jvb.example and docker-jitsi-meet's
//! XMPP_* defaults): `auth.`, `guest.`, `conference.`, `internal.auth.`, `focus.` ...

/// The brewery room where jicofo finds the bridges (upstream's JvbBrewery).
pub const BREWERY_ROOM: &str = "JvbBrewery";
/// The brewery room where jicofo finds the recorders (jibri's README: JibriBrewery).
pub const JIBRI_BREWERY_ROOM: &str = "JibriBrewery";
/// The brewery room where jicofo finds the SIP gateways (jigasi's template and Debian
/// postinst at 6fbf4f27: JigasiBrewery).
pub const JIGASI_BREWERY_ROOM: &str = "JigasiBrewery";
/// The SIP gateways' shared account on `auth.DOMAIN` (jigasi's postinst makes `jigasi`).
pub const JIGASI_USERNAME: &str = "jigasi";

/// Every name of one domain's site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmppNames {
    /// The site's own host (anonymous or registered users).
    pub domain: String,
    /// jicofo's and the bridges' accounts.
    pub auth: String,
    /// Guests of secure-domain.
    pub guest: String,
    /// The conference MUC.
    pub conference: String,
    /// Breakout rooms.
    pub breakout: String,
    /// The lobby MUC.
    pub lobby: String,
    /// The internal MUC (jicofo and the bridges).
    pub internal: String,
    /// prosody's client_proxy component for jicofo.
    pub focus_component: String,
    /// jicofo's account.
    pub focus_jid: String,
    /// The bridges' shared account.
    pub jvb_jid: String,
    /// The brewery MUC's JID.
    pub brewery_jid: String,
    /// Recorders' hidden host: the account jibri's browser joins meetings with (trusted
    /// by jicofo, hidden by the web app).
    pub recorder: String,
    /// The recorders' shared control account, `jibri@auth.DOMAIN`.
    pub jibri_jid: String,
    /// The hidden account recorders join meetings with, `recorder@recorder.DOMAIN`.
    pub recorder_jid: String,
    /// The recorders' brewery MUC's JID.
    pub jibri_brewery_jid: String,
    /// The SIP gateways' shared account, `jigasi@auth.DOMAIN`.
    pub jigasi_jid: String,
    /// The SIP gateways' brewery MUC's JID.
    pub jigasi_brewery_jid: String,
    /// Room metadata component.
    pub metadata: String,
    /// Polls component.
    pub polls: String,
}

impl XmppNames {
    /// The names of `domain`'s site (a validated, lower-case domain).
    pub fn new(domain: &str) -> Self {
        let d = domain;
        let auth = format!("auth.{d}");
        let internal = format!("internal.{auth}");
        Self {
            domain: d.to_string(),
            guest: format!("guest.{d}"),
            conference: format!("conference.{d}"),
            breakout: format!("breakout.{d}"),
            lobby: format!("lobby.{d}"),
            focus_component: format!("focus.{d}"),
            focus_jid: format!("focus@{auth}"),
            jvb_jid: format!("jvb@{auth}"),
            brewery_jid: format!("{BREWERY_ROOM}@{internal}"),
            recorder: format!("recorder.{d}"),
            jibri_jid: format!("jibri@{auth}"),
            recorder_jid: format!("recorder@recorder.{d}"),
            jibri_brewery_jid: format!("{JIBRI_BREWERY_ROOM}@{internal}"),
            jigasi_jid: format!("{JIGASI_USERNAME}@{auth}"),
            jigasi_brewery_jid: format!("{JIGASI_BREWERY_ROOM}@{internal}"),
            metadata: format!("metadata.{d}"),
            polls: format!("polls.{d}"),
            internal,
            auth,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_of_a_site_follows_upstreams_layout() {
        let n = XmppNames::new("meet.example.test");
        let rows: [(&str, &str); 16] = [
            (&n.domain, "meet.example.test"),
            (&n.auth, "auth.meet.example.test"),
            (&n.guest, "guest.meet.example.test"),
            (&n.conference, "conference.meet.example.test"),
            (&n.breakout, "breakout.meet.example.test"),
            (&n.lobby, "lobby.meet.example.test"),
            (&n.internal, "internal.auth.meet.example.test"),
            (&n.focus_component, "focus.meet.example.test"),
            (&n.focus_jid, "focus@auth.meet.example.test"),
            (&n.jvb_jid, "jvb@auth.meet.example.test"),
            (&n.brewery_jid, "JvbBrewery@internal.auth.meet.example.test"),
            (&n.recorder, "recorder.meet.example.test"),
            (&n.metadata, "metadata.meet.example.test"),
            (&n.polls, "polls.meet.example.test"),
            (&n.jigasi_jid, "jigasi@auth.meet.example.test"),
            (
                &n.jigasi_brewery_jid,
                "JigasiBrewery@internal.auth.meet.example.test",
            ),
        ];
        for (got, want) in rows {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn a_bridge_and_its_signaling_node_agree_on_the_brewery() {
        // The token carries the brewery the signaling node's jicofo watches.
        let signaling = XmppNames::new("meet.example.org");
        let pair =
            crate::bridge::xmpp_cert::generate("meet.example.org", time::OffsetDateTime::now_utc())
                .unwrap();
        let token = crate::bridge::token::Token::new(
            "10.0.0.1",
            5222,
            "meet.example.org",
            "a-password-of-sixteen-or-more",
            &pair.chain_pem(),
        )
        .unwrap();
        assert_eq!(token.brewery_muc_jid(), signaling.brewery_jid);
        assert_eq!(token.auth_domain(), signaling.auth);
        assert_eq!(token.internal_muc_domain(), signaling.internal);
    }
}
