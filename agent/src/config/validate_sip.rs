//! `[sip]`: the SIP account, the dial-in numbers and the default room checked, and
//! [`SipSettings`] built. What cannot work is refused here with the key named, so that
//! jigasi never starts with an account it cannot register.

use super::schema::{Role, Sip};
use crate::secret::Secret;
use crate::sip::{DialInNumber, SipAccount, SipSettings, Transport};
use crate::well_formed::check_fqdn;
use anyhow::Result;

/// The most countries, and numbers per country, `sip.dial_in_numbers` may list (the invite
/// dialog shows them all).
const MAX_COUNTRIES: usize = 64;
/// See [`MAX_COUNTRIES`].
const MAX_NUMBERS: usize = 16;
/// The longest SIP user name and password accepted (providers issue far shorter ones).
const MAX_CREDENTIAL: usize = 128;

/// Checks `[sip]` for a machine of `role`; errors name the key (through `fail`).
pub fn validate(
    s: &Sip,
    role: Role,
    fail: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<SipSettings> {
    let account = account(s, fail)?;
    if role == Role::Sip {
        return gateway(s, account, fail);
    }
    if role.joins() && (account.is_some() || s.local || !s.dial_in_numbers.is_empty()) {
        return Err(fail(
            "sip",
            format!(
                "a {} has no [sip] settings: the SIP account and dial-in numbers belong on the signaling node (or an all-in-one server)",
                role.as_str()
            ),
        ));
    }
    if s.local && account.is_none() {
        return Err(fail(
            "sip.local",
            "jigasi needs an account to register: set sip.server, sip.username and sip.password"
                .into(),
        ));
    }
    let dial_in = dial_in(s, fail)?;
    if !dial_in.is_empty() && account.is_none() {
        return Err(fail(
            "sip.dial_in_numbers",
            "numbers to dial in on need a SIP account to answer them: set sip.server, sip.username and sip.password".into(),
        ));
    }
    let media_sources = media_sources(s, fail)?;
    if !media_sources.is_empty() && !s.local {
        return Err(fail(
            "sip.media_allow_cidrs",
            "opens jigasi's media ports, but jigasi does not run here (sip.local = false)".into(),
        ));
    }
    let default_room = default_room(s, fail)?;
    Ok(SipSettings {
        account,
        dial_in,
        default_room,
        local: s.local,
        media_sources,
    })
}

/// `[sip]` on a SIP gateway of its own (`server.role = "sip"`): jigasi runs here, so the
/// account is needed; the numbers belong to the site the signaling node serves.
fn gateway(
    s: &Sip,
    account: Option<SipAccount>,
    fail: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<SipSettings> {
    if account.is_none() {
        return Err(fail(
            "server.role",
            "is \"sip\", which needs the SIP account jigasi registers with: set sip.server, sip.username and sip.password".into(),
        ));
    }
    if !s.dial_in_numbers.is_empty() {
        return Err(fail(
            "sip.dial_in_numbers",
            "is for the signaling node, which serves the site that shows them; remove it here"
                .into(),
        ));
    }
    let media_sources = media_sources(s, fail)?;
    let default_room = default_room(s, fail)?;
    Ok(SipSettings {
        account,
        dial_in: Vec::new(),
        default_room,
        // jigasi runs on a gateway whether or not sip.local says so.
        local: true,
        media_sources,
    })
}

/// `sip.media_allow_cidrs`, each entry checked.
fn media_sources(
    s: &Sip,
    fail: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<Vec<crate::well_formed::Cidr>> {
    let mut sources = Vec::new();
    for (i, text) in s.media_allow_cidrs.iter().enumerate() {
        sources.push(
            crate::well_formed::parse_cidr(text)
                .map_err(|r| fail("sip.media_allow_cidrs", format!("entry {}: {r}", i + 1)))?,
        );
    }
    Ok(sources)
}

/// `sip.default_room`, checked.
fn default_room(s: &Sip, fail: &dyn Fn(&str, String) -> anyhow::Error) -> Result<Option<String>> {
    s.default_room
        .as_deref()
        .map(|room| check_room(room).map_err(|r| fail("sip.default_room", r)))
        .transpose()
}

/// The account, when any of its keys is set: then all three are needed.
fn account(s: &Sip, fail: &dyn Fn(&str, String) -> anyhow::Error) -> Result<Option<SipAccount>> {
    let (server, username, password) = match (&s.server, &s.username, &s.password) {
        (None, None, None) => {
            for (key, set) in [
                ("sip.port", s.port.is_some()),
                ("sip.transport", s.transport.is_some()),
                ("sip.domain", s.domain.is_some()),
            ] {
                if set {
                    return Err(fail(
                        key,
                        "is set without an account: set sip.server, sip.username and sip.password too".into(),
                    ));
                }
            }
            return Ok(None);
        }
        (Some(server), Some(username), Some(password)) => (server, username, password),
        _ => {
            let missing: Vec<&str> = [
                ("sip.server", s.server.is_none()),
                ("sip.username", s.username.is_none()),
                ("sip.password", s.password.is_none()),
            ]
            .into_iter()
            .filter_map(|(k, gone)| gone.then_some(k))
            .collect();
            return Err(fail(
                missing[0],
                format!(
                    "is missing: a SIP account needs sip.server, sip.username and sip.password (missing: {})",
                    missing.join(", ")
                ),
            ));
        }
    };
    let server = check_host(server.trim()).map_err(|r| fail("sip.server", r))?;
    let transport = match &s.transport {
        None => Transport::Udp,
        Some(t) => Transport::parse(t.trim()).ok_or_else(|| {
            fail(
                "sip.transport",
                format!(
                    "`{}` is not a SIP transport: use \"udp\", \"tcp\" or \"tls\"",
                    t.escape_debug()
                ),
            )
        })?,
    };
    let port = match s.port {
        Some(0) => return Err(fail("sip.port", "0 is not a port (1 to 65535)".into())),
        Some(p) => p,
        None => transport.default_port(),
    };
    let username = check_username(username).map_err(|r| fail("sip.username", r))?;
    check_password(password).map_err(|r| fail("sip.password", r))?;
    let domain = match &s.domain {
        None => server.clone(),
        Some(d) => check_host(d.trim()).map_err(|r| fail("sip.domain", r))?,
    };
    Ok(Some(SipAccount {
        server,
        port,
        transport,
        username,
        password: password.clone(),
        domain,
    }))
}

/// A registrar's name or address, lower-cased: a domain name, an IPv4 address or an IPv6
/// address (without brackets).
fn check_host(host: &str) -> Result<String, String> {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(host.to_ascii_lowercase());
    }
    let host = host.to_ascii_lowercase();
    check_fqdn(&host).map_err(|r| {
        format!("{r}; give the SIP server's host name or IP address alone (the port goes in sip.port, the transport in sip.transport)")
    })?;
    Ok(host)
}

/// The user part of a SIP address: RFC 3261's unreserved and user-unreserved characters
/// (no `@`, `:`, spaces or escapes), as providers issue them.
fn check_username(user: &str) -> Result<String, String> {
    let user = user.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/".contains(c);
    if user.is_empty() || user.len() > MAX_CREDENTIAL || !user.chars().all(allowed) {
        return Err(format!(
            "`{}` is not a SIP user name (1 to {MAX_CREDENTIAL} letters, digits and -_.!~*'()&=+$,;?/; the domain goes in sip.domain, not after an @)",
            user.chars().take(64).collect::<String>().escape_debug()
        ));
    }
    Ok(user.to_string())
}

/// The password: printable, of a length a provider issues. Its value is never shown.
fn check_password(password: &Secret) -> Result<(), String> {
    let p = password.expose();
    if p.is_empty() || p.chars().count() > MAX_CREDENTIAL {
        return Err(format!(
            "must have 1 to {MAX_CREDENTIAL} characters (it has {})",
            p.chars().count()
        ));
    }
    if p.chars().any(char::is_control) {
        return Err("must not contain control characters (a line break pasted with it?)".into());
    }
    Ok(())
}

/// The numbers per country, in the dialog's order (countries sorted, numbers as given).
fn dial_in(s: &Sip, fail: &dyn Fn(&str, String) -> anyhow::Error) -> Result<Vec<DialInNumber>> {
    let key = "sip.dial_in_numbers";
    if s.dial_in_numbers.len() > MAX_COUNTRIES {
        return Err(fail(
            key,
            format!(
                "{} countries; at most {MAX_COUNTRIES}",
                s.dial_in_numbers.len()
            ),
        ));
    }
    let mut out = Vec::new();
    for (country, numbers) in &s.dial_in_numbers {
        let ok = country.len() == 2 && country.bytes().all(|b| b.is_ascii_alphabetic());
        if !ok {
            return Err(fail(
                key,
                format!(
                    "`{}` is not a country code: use the two-letter ISO 3166 code, e.g. US or DE",
                    country.escape_debug()
                ),
            ));
        }
        let country = country.to_ascii_uppercase();
        if numbers.is_empty() || numbers.len() > MAX_NUMBERS {
            return Err(fail(
                key,
                format!(
                    "{country}: 1 to {MAX_NUMBERS} numbers, not {}",
                    numbers.len()
                ),
            ));
        }
        for number in numbers {
            let number = check_number(number).map_err(|r| fail(key, format!("{country}: {r}")))?;
            out.push(DialInNumber {
                country: country.clone(),
                number,
            });
        }
    }
    Ok(out)
}

/// A phone number as shown: `+` and the country's calling code, then digits with spaces,
/// hyphens, dots or parentheses between them; 5 to 20 digits.
fn check_number(number: &str) -> Result<String, String> {
    let n = number.trim();
    let digits = n.chars().filter(char::is_ascii_digit).count();
    let ok = n.starts_with('+')
        && n.len() <= 40
        && (5..=20).contains(&digits)
        && n[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || " -.()".contains(c));
    if !ok {
        return Err(format!(
            "`{}` is not a phone number in international form (+ and 5 to 20 digits, e.g. \"+1 555 0100\")",
            n.chars().take(48).collect::<String>().escape_debug()
        ));
    }
    Ok(n.to_string())
}

/// A room name as the web app makes them (lower case): letters, digits, `-`, `_`, `.`.
fn check_room(room: &str) -> Result<String, String> {
    let room = room.trim().to_ascii_lowercase();
    let ok = !room.is_empty()
        && room.len() <= 128
        && !room.starts_with('.')
        && room
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !ok {
        return Err(format!(
            "`{}` is not a room name (1 to 128 letters, digits, -, _ and ., as in https://DOMAIN/ROOM)",
            room.chars().take(64).collect::<String>().escape_debug()
        ));
    }
    Ok(room)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(key: &str, reason: String) -> anyhow::Error {
        anyhow::anyhow!("key `{key}`: {reason}")
    }

    fn sip(toml: &str) -> Sip {
        toml::from_str(toml).expect("a [sip] table")
    }

    fn error(toml: &str, role: Role) -> String {
        format!(
            "{:#}",
            validate(&sip(toml), role, &fail).expect_err("refused")
        )
    }

    const ACCOUNT: &str =
        "server = \"sip.example.net\"\nusername = \"meet\"\npassword = \"s3cret-pass\"\n";

    #[test]
    fn an_account_settles_with_its_defaults() {
        let s = validate(&sip(ACCOUNT), Role::All, &fail).expect("valid");
        let a = s.account.expect("an account");
        assert_eq!((a.port, a.transport), (5060, Transport::Udp));
        assert_eq!(a.address(), "meet@sip.example.net");
        let tls = validate(
            &sip(&format!(
                "{ACCOUNT}transport = \"TLS\"\ndomain = \"Example.NET\"\n"
            )),
            Role::Signaling,
            &fail,
        )
        .expect("valid")
        .account
        .expect("an account");
        assert_eq!((tls.port, tls.transport), (5061, Transport::Tls));
        assert_eq!(tls.address(), "meet@example.net");
        assert!(!validate(&sip(""), Role::All, &fail)
            .expect("valid")
            .offered());
    }

    #[test]
    fn what_cannot_work_is_refused_naming_the_key() {
        let cases: [(&str, &str); 10] = [
            (
                "server = \"sip.example.net\"\n",
                "key `sip.username`: is missing",
            ),
            (
                &format!("{ACCOUNT}transport = \"sctp\"\n"),
                "key `sip.transport`: `sctp` is not a SIP transport",
            ),
            (
                "server = \"sip.example.net:5060\"\nusername = \"u\"\npassword = \"p\"\n",
                "key `sip.server`:",
            ),
            (
                "server = \"sip.example.net\"\nusername = \"u@example.net\"\npassword = \"p\"\n",
                "key `sip.username`:",
            ),
            (
                "server = \"sip.example.net\"\nusername = \"u\"\npassword = \"line\\nbreak\"\n",
                "key `sip.password`: must not contain control characters",
            ),
            (
                &format!("{ACCOUNT}port = 0\n"),
                "key `sip.port`: 0 is not a port",
            ),
            ("local = true\n", "key `sip.local`: jigasi needs an account"),
            (
                &format!("{ACCOUNT}[dial_in_numbers]\nUSA = [\"+1 555 0100\"]\n"),
                "`USA` is not a country code",
            ),
            (
                &format!("{ACCOUNT}[dial_in_numbers]\nUS = [\"555-0100\"]\n"),
                "US: `555-0100` is not a phone number",
            ),
            (
                &format!("{ACCOUNT}default_room = \"../etc\"\n"),
                "key `sip.default_room`:",
            ),
        ];
        for (toml, want) in cases {
            let got = error(toml, Role::All);
            assert!(got.contains(want), "{toml:?}: {got}");
            assert!(!got.contains("s3cret-pass"), "{got}");
        }
        assert!(error(ACCOUNT, Role::Videobridge).contains("a videobridge has no [sip] settings"));
        assert!(error("transport = \"tcp\"\n", Role::All)
            .contains("key `sip.transport`: is set without an account"));
    }

    #[test]
    fn a_sip_gateway_of_its_own_needs_the_account_and_runs_jigasi() {
        let s = validate(&sip(ACCOUNT), Role::Sip, &fail).expect("valid");
        assert!(s.runs_here() && !s.serves_dial_in());
        assert!(error("", Role::Sip)
            .contains("key `server.role`: is \"sip\", which needs the SIP account"));
        assert!(error(
            &format!("{ACCOUNT}[dial_in_numbers]\nUS = [\"+1 555 0100\"]\n"),
            Role::Sip
        )
        .starts_with("key `sip.dial_in_numbers`: is for the signaling node"));
        // A bridge or recorder still has no [sip].
        assert!(error(ACCOUNT, Role::Recorder).starts_with("key `sip`: a recorder has no [sip]"));
    }

    #[test]
    fn dial_in_numbers_are_kept_per_country_in_order() {
        let s = validate(
            &sip(&format!(
                "{ACCOUNT}default_room = \"Lobby\"\n[dial_in_numbers]\nde = [\"+49 30 1234567\"]\nUS = [\"+1 555 0100\", \"+1 (555) 0199\"]\n"
            )),
            Role::All,
            &fail,
        )
        .expect("valid");
        let shown: Vec<(&str, &str)> = s
            .dial_in
            .iter()
            .map(|d| (d.country.as_str(), d.number.as_str()))
            .collect();
        // The table's keys in TOML order would be de, US; the dialog gets them sorted.
        assert_eq!(
            shown,
            [
                ("US", "+1 555 0100"),
                ("US", "+1 (555) 0199"),
                ("DE", "+49 30 1234567")
            ]
        );
        assert_eq!(s.default_room.as_deref(), Some("lobby"));
    }
}
