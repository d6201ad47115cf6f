//! The stack's services: the one place their unit names are spelled.

use serde::{Deserialize, Serialize};

/// How a service takes new configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// It re-reads its files on reload and keeps its connections (conferences survive).
    Reload,
    /// It reads its files only at start.
    Restart,
}

/// A service of the stack the agent configures and starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Service {
    /// The host firewall (meet-agent's own unit loading its nftables ruleset).
    #[serde(rename = "meet-agent-firewall.service")]
    Firewall,
    /// The XMPP server.
    #[serde(rename = "prosody.service")]
    Prosody,
    /// The conference focus.
    #[serde(rename = "jicofo.service")]
    Jicofo,
    /// The videobridge.
    #[serde(rename = "jitsi-videobridge2.service")]
    Videobridge,
    /// The TURN server.
    #[serde(rename = "coturn.service")]
    Coturn,
    /// The web server.
    #[serde(rename = "nginx.service")]
    Nginx,
    /// The recorder (jibri; its X server and window manager units come with it).
    #[serde(rename = "jibri.service")]
    Jibri,
    /// The SIP gateway (jigasi).
    #[serde(rename = "jigasi.service")]
    Jigasi,
}

impl Service {
    /// Every service, in the order they start: the host firewall first (its unit is also
    /// ordered before the others).
    pub const ALL: [Service; 8] = [
        Service::Firewall,
        Service::Prosody,
        Service::Jicofo,
        Service::Videobridge,
        Service::Coturn,
        Service::Nginx,
        Service::Jibri,
        Service::Jigasi,
    ];

    /// The services that read the web certificate.
    pub const TLS_CONSUMERS: [Service; 3] = [Service::Nginx, Service::Prosody, Service::Coturn];

    /// The systemd unit name.
    pub const fn unit(self) -> &'static str {
        match self {
            Service::Firewall => "meet-agent-firewall.service",
            Service::Prosody => "prosody.service",
            Service::Jicofo => "jicofo.service",
            Service::Videobridge => "jitsi-videobridge2.service",
            Service::Coturn => "coturn.service",
            Service::Nginx => "nginx.service",
            Service::Jibri => "jibri.service",
            Service::Jigasi => "jigasi.service",
        }
    }

    /// The unit name without `.service`, for messages.
    pub fn short(self) -> &'static str {
        let unit = self.unit();
        unit.strip_suffix(".service").unwrap_or(unit)
    }

    /// The service whose unit is `unit`, if it is one of the stack's.
    pub fn from_unit(unit: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.unit() == unit)
    }

    /// How it takes new configuration: the firewall's reload replaces its rules in one
    /// transaction (a restart would leave a moment without them); nginx, prosody and
    /// coturn re-read their files on reload; jicofo and the bridge only at start. jibri's
    /// reload (upstream's reload.sh: `notifyConfigChanged`) restarts it once it is idle, so
    /// a recording in progress is never cut. jigasi reads its properties only at start.
    pub const fn refresh(self) -> Refresh {
        match self {
            Service::Firewall
            | Service::Prosody
            | Service::Coturn
            | Service::Nginx
            | Service::Jibri => Refresh::Reload,
            Service::Jicofo | Service::Videobridge | Service::Jigasi => Refresh::Restart,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_is_recorded_under_its_unit_name_and_found_by_it() {
        for service in Service::ALL {
            let json = serde_json::to_string(&service).unwrap();
            assert_eq!(json, format!("\"{}\"", service.unit()));
            assert_eq!(Service::from_unit(service.unit()), Some(service));
        }
        assert_eq!(Service::from_unit("ssh.service"), None);
    }

    #[test]
    fn only_the_java_services_but_jibri_restart() {
        let restarted: Vec<_> = Service::ALL
            .into_iter()
            .filter(|s| s.refresh() == Refresh::Restart)
            .collect();
        assert_eq!(
            restarted,
            [Service::Jicofo, Service::Videobridge, Service::Jigasi]
        );
    }
}
