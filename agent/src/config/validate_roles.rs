//! `server.role` and what goes with it: the keys of `[bridges]` (a signaling node's
//! videobridges) and `[bridge]` (a videobridge's signaling node), and the keys that make no
//! sense for a role, refused with the key named rather than silently ignored.

use super::schema::{Bridge, Bridges, Config, Role};
pub use crate::bridge::roles::RoleSettings;
pub use crate::well_formed::{parse_cidr, Cidr};
use anyhow::Result;

/// Checks `server.role`, `[bridges]` and `[bridge]` together; errors name the key.
pub fn validate(
    config: &Config,
    domain: Option<&str>,
    fail: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<RoleSettings> {
    let role = config.server.role;
    let b = &config.bridges;
    let j = &config.bridge;
    let bridge_sources = bridge_sources(b, fail)?;
    refuse_other_roles_keys(config, fail)?;
    let join = join_token(j, domain, fail)?;
    check_token_kind(role, join.as_ref(), fail)?;
    check_adopted_pair(role, join.is_some(), j, fail)?;
    let signaling_host = signaling_host(j, fail)?;
    check_hook_and_region(j, fail)?;
    Ok(RoleSettings {
        role,
        local_bridge: role == Role::All || (role == Role::Signaling && b.local),
        bridge_sources,
        join,
        auth_key: j.auth_key.clone(),
        signaling_host,
        drain_hook: j.drain_hook.clone(),
        region: j.region.clone(),
    })
}

/// `bridges.allow_cidrs`, each entry checked.
fn bridge_sources(b: &Bridges, fail: &dyn Fn(&str, String) -> anyhow::Error) -> Result<Vec<Cidr>> {
    let mut bridge_sources = Vec::new();
    for (i, text) in b.allow_cidrs.iter().enumerate() {
        bridge_sources.push(
            parse_cidr(text)
                .map_err(|r| fail("bridges.allow_cidrs", format!("entry {}: {r}", i + 1)))?,
        );
    }
    Ok(bridge_sources)
}

/// Refuses the keys that make no sense for this machine's role, naming the key; and the
/// one a videobridge needs and lacks.
fn refuse_other_roles_keys(
    config: &Config,
    fail: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<()> {
    let role = config.server.role;
    let b = &config.bridges;
    let j = &config.bridge;
    let not_for = |key: &str, for_roles: &str| {
        fail(
            key,
            format!(
                "is for server.role = {for_roles}, and this machine's role is \"{}\"; remove it or change server.role",
                role.as_str()
            ),
        )
    };
    // A key the role requires but nobody set has no file of its own: the error names the
    // file that set server.role, which is where the missing key belongs.
    let needs = |key: &str, what: &str| {
        fail(
            "server.role",
            format!("is \"{}\", which needs `{key}`: {what}", role.as_str()),
        )
    };
    if role != Role::Signaling {
        if b.local {
            return Err(not_for("bridges.local", "\"signaling\""));
        }
        if !b.allow_cidrs.is_empty() {
            return Err(not_for("bridges.allow_cidrs", "\"signaling\""));
        }
        if j.auth_key.is_some() {
            return Err(not_for("bridge.auth_key", "\"signaling\""));
        }
    }
    if role == Role::All && j.join.is_some() {
        return Err(not_for("bridge.join", "\"videobridge\" or \"signaling\""));
    }
    if role == Role::All && j.region.is_some() {
        return Err(not_for("bridge.region", "\"signaling\" or \"videobridge\""));
    }
    if matches!(role, Role::Recorder | Role::Sip) && j.region.is_some() {
        return Err(not_for("bridge.region", "\"signaling\" or \"videobridge\""));
    }
    if !role.joins() {
        for (key, set) in [
            ("bridge.signaling_host", j.signaling_host.is_some()),
            ("bridge.drain_hook", j.drain_hook.is_some()),
        ] {
            if set {
                return Err(not_for(key, "\"videobridge\", \"recorder\" or \"sip\""));
            }
        }
    }
    // Scale-in drains bridges and recorders; a SIP gateway's calls have no drain yet.
    if role == Role::Sip && j.drain_hook.is_some() {
        return Err(not_for(
            "bridge.drain_hook",
            "\"videobridge\" or \"recorder\"",
        ));
    }
    if config.recording.local && role.joins() {
        return Err(not_for("recording.local", "\"all\" or \"signaling\""));
    }
    if role.joins() {
        refuse_web_keys(config, &not_for)?;
        if j.join.is_none() {
            let command = token_command(role);
            return Err(needs(
                "bridge.join",
                &format!("the join token of its signaling node; print it there with `{command}` and set bridge.join beside server.role"),
            ));
        }
    }
    Ok(())
}

/// A recorder joins with a recorder's token and a bridge (or a signaling node adopting a
/// pre-made token) with a bridge's: the other kind would log in to the wrong brewery.
fn check_token_kind(
    role: Role,
    token: Option<&crate::bridge::token::Token>,
    fail: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<()> {
    let Some(token) = token else {
        return Ok(());
    };
    let want = match role {
        Role::Recorder | Role::Sip => role.as_str(),
        _ => "videobridge",
    };
    if token.kind() != want {
        let command = token_command(role);
        return Err(fail(
            "bridge.join",
            format!(
                "holds a {}'s join token, and this machine's role is \"{}\"; print the right one on the signaling node with `{command}`",
                token.kind(),
                role.as_str()
            ),
        ));
    }
    Ok(())
}

/// The command that prints the token a machine of `role` joins with.
fn token_command(role: Role) -> &'static str {
    match role {
        Role::Recorder => "meet-agent bridge token --recorder",
        Role::Sip => "meet-agent bridge token --sip",
        _ => "meet-agent bridge token",
    }
}

/// A videobridge serves no web site, TURN or accounts: those keys are refused.
fn refuse_web_keys(config: &Config, not_for: &dyn Fn(&str, &str) -> anyhow::Error) -> Result<()> {
    // Everything of the web side: a bridge serves no site, no TURN and no accounts.
    let web_keys: [(&str, bool); 6] = [
        ("tls.certificate", config.tls.certificate.is_some()),
        ("tls.acme.enabled", config.tls.acme.enabled),
        ("jitsi.jwt_app_id", config.jitsi.jwt_app_id.is_some()),
        (
            "jitsi.jwt_app_secret",
            config.jitsi.jwt_app_secret.is_some(),
        ),
        ("jitsi.turn.tls_host", config.jitsi.turn.tls_host.is_some()),
        (
            "jitsi.auth",
            config.jitsi.auth != crate::jitsi::AuthMode::Open,
        ),
    ];
    if let Some((key, _)) = web_keys.iter().find(|(_, set)| *set) {
        return Err(not_for(
            key,
            "\"all\" or \"signaling\" (a videobridge serves no web site)",
        ));
    }
    Ok(())
}

/// `bridge.join` decoded (for this domain, when known).
fn join_token(
    j: &Bridge,
    domain: Option<&str>,
    fail: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<Option<crate::bridge::token::Token>> {
    Ok(match &j.join {
        None => None,
        Some(text) => {
            let token = match domain {
                Some(d) => crate::bridge::token::Token::decode_for_domain(text.expose(), d),
                None => crate::bridge::token::Token::decode(text.expose()),
            }
            .map_err(|e| fail("bridge.join", e.to_string()))?;
            Some(token)
        }
    })
}

/// A signaling node adopting a pre-made token needs both `bridge.join` and
/// `bridge.auth_key`.
fn check_adopted_pair(
    role: Role,
    joins: bool,
    j: &Bridge,
    fail: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<()> {
    if role == Role::Signaling && joins != j.auth_key.is_some() {
        // Named by the key that is set: the missing one has no file to name.
        let (set, unset) = if joins {
            ("bridge.join", "bridge.auth_key")
        } else {
            ("bridge.auth_key", "bridge.join")
        };
        return Err(fail(
            set,
            format!("is set but `{unset}` is not; a signaling node adopting a pre-made token needs both bridge.join and bridge.auth_key (`meet-agent bridge token --new --key-out FILE` makes the pair)"),
        ));
    }
    Ok(())
}

/// `bridge.signaling_host`: an IP address or a host name.
fn signaling_host(
    j: &Bridge,
    fail: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<Option<String>> {
    Ok(match &j.signaling_host {
        None => None,
        Some(h) => {
            let ok =
                h.parse::<std::net::IpAddr>().is_ok() || crate::well_formed::check_fqdn(h).is_ok();
            if !ok {
                return Err(fail(
                    "bridge.signaling_host",
                    format!("`{h}` is neither an IP address nor a host name"),
                ));
            }
            Some(h.clone())
        }
    })
}

/// `bridge.drain_hook` and `bridge.region`: names AWS and relays accept.
fn check_hook_and_region(j: &Bridge, fail: &dyn Fn(&str, String) -> anyhow::Error) -> Result<()> {
    if let Some(hook) = &j.drain_hook {
        if hook.is_empty()
            || hook.len() > 255
            || !hook
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-_/.".contains(&c))
        {
            return Err(fail(
                "bridge.drain_hook",
                "use the lifecycle hook's name: 1 to 255 letters, digits, '-', '_', '/' or '.'"
                    .into(),
            ));
        }
    }
    if let Some(region) = &j.region {
        if !crate::well_formed::is_region_name(region) {
            return Err(fail(
                "bridge.region",
                "use 1 to 64 letters, digits, '-' or '_' (such as eu-central-1)".into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_parse_with_and_without_prefix() {
        let rows: [(&str, Result<&str, &str>); 8] = [
            ("10.0.0.0/16", Ok("10.0.0.0/16")),
            ("192.0.2.7", Ok("192.0.2.7/32")),
            ("2001:db8::/48", Ok("2001:db8::/48")),
            ("2001:db8::1", Ok("2001:db8::1/128")),
            ("10.0.0.0/33", Err("prefix length must be 0 to 32")),
            ("2001:db8::/129", Err("prefix length must be 0 to 128")),
            ("example.org/24", Err("not an IP address")),
            ("10.0.0.0/x", Err("prefix length")),
        ];
        for (text, want) in rows {
            match (parse_cidr(text), want) {
                (Ok(c), Ok(w)) => assert_eq!(c.to_string(), w, "{text}"),
                (Err(e), Err(w)) => assert!(e.contains(w), "{text}: {e}"),
                (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
            }
        }
    }
}
