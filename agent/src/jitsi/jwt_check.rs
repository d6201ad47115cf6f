//! Whether prosody can check the tokens of JWT mode on this machine. Jitsi's token plugin
//! (`auth_token`, through `token/util.lib.lua` and `luajwtjitsi.lib.lua`) needs `basexx`,
//! `cjson.safe` and `openssl.hmac` (and `inspect`) in prosody's Lua, which is 5.4 for
//! Prosody 13; Debian packages `basexx` and `inspect` for older Luas only, and when one is
//! missing prosody merely logs that the module failed and offers no login at all. So the
//! jitsi step runs our own checker ([`SCRIPT`]) with prosody's interpreter: it loads those
//! libraries and, with them, verifies a token signed with the instance's secret and refuses
//! one signed with another. The secret goes on stdin, never on a command line.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The interpreter Debian's prosody runs on (`#!/usr/bin/env lua5.4`).
pub const LUA: &str = "/usr/bin/lua5.4";

/// The checker, ours, run with `lua5.4 -e` ([`command`]).
pub const SCRIPT: &str = include_str!("jwt_check.lua");

/// How long the checker may take (it does two HMACs; a hung interpreter must not hold the
/// boot).
const TIMEOUT: Duration = Duration::from_secs(10);

/// An HS256 token for `app_id` signed with `key`, shaped like the tokens the web app is
/// given (iss, aud, sub, room, exp).
pub fn token(app_id: &str, domain: &str, key: &[u8], expires_at: u64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": app_id,
        "aud": "jitsi",
        "sub": domain,
        "room": "*",
        "exp": expires_at,
    });
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signed = format!("{header}.{payload}");
    let mac = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key),
        signed.as_bytes(),
    );
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref()))
}

/// Runs the checker with the interpreter at `lua`: `Ok` when a token signed with `secret`
/// is valid and one signed with another key is refused for its signature; otherwise one
/// sentence saying what is wrong and what to do.
pub fn check(lua: &Path, app_id: &str, domain: &str, secret: &str) -> Result<(), String> {
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 300;
    let good = token(app_id, domain, secret.as_bytes(), expires);
    // Any other key: the secret with one more byte.
    let forged = token(app_id, domain, format!("{secret}!").as_bytes(), expires);
    let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
    let input = format!("{hex}\n{good}\n{forged}\n");
    let out = run(lua, &input)?;
    let mut lines = out.lines();
    if let Some(missing) = out.lines().find_map(|l| l.strip_prefix("missing ")) {
        let (name, why) = missing.split_once(": ").unwrap_or((missing, ""));
        return Err(format!(
            "JWT logins will fail: prosody's Lua 5.4 cannot load `{name}`, which Jitsi's token plugin needs ({}); install it for Lua 5.4 (the image links Debian's pure-Lua copies into /usr/local/share/lua/5.4, see docs/stack.md)",
            short(why)
        ));
    }
    match (lines.next(), lines.next()) {
        (Some(g), Some("invalid: signature")) if g.starts_with("valid") => Ok(()),
        (Some(g), Some(f)) if g.starts_with("valid") => Err(format!(
            "JWT logins are unsafe: prosody's Lua 5.4 did not refuse a token signed with another key ({}); check the lua-luaossl package",
            short(f)
        )),
        (Some(g), _) => Err(format!(
            "JWT logins will fail: prosody's Lua 5.4 refused a token signed with jitsi.jwt_app_secret ({}); check the lua-basexx, lua-cjson and lua-luaossl packages",
            short(g)
        )),
        (None, _) => Err(format!(
            "JWT logins could not be checked: {} printed nothing",
            lua.display()
        )),
    }
}

/// A line of the checker's output, at most 200 characters, through the one terminal
/// filter (the script prints what prosody's libraries say, which we do not control).
fn short(s: &str) -> String {
    crate::printable::printable(s, 200)
}

/// `lua -eSCRIPT`, stdin, stdout and stderr piped. The attached form: lua refuses a
/// separate `-e` argument that starts with `-`, as the script's comment header does.
pub fn command(lua: &Path) -> Command {
    let mut cmd = Command::new(lua);
    cmd.arg(format!("-e{SCRIPT}"));
    cmd
}

/// Runs the checker with `input` on stdin; its standard output, or why it could not run.
fn run(lua: &Path, input: &str) -> Result<String, String> {
    let mut child = command(lua)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!(
                "JWT logins cannot work: prosody's interpreter {} cannot be run ({e}); install lua5.4",
                lua.display()
            )
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // An interpreter that ends early closes stdin; its output says why.
        let _ = stdin.write_all(input.as_bytes());
    }
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < TIMEOUT => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "JWT logins could not be checked: {} did not finish within {} s",
                    lua.display(),
                    TIMEOUT.as_secs()
                ));
            }
        }
    };
    let mut out = String::new();
    let mut err = String::new();
    // Two short lines each: both fit in the pipes, so reading after the exit cannot block.
    if let Some(mut s) = child.stdout.take() {
        let _ = s.by_ref().take(64 * 1024).read_to_string(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.by_ref().take(64 * 1024).read_to_string(&mut err);
    }
    if !status.success() && !out.contains("missing ") {
        return Err(format!(
            "JWT logins could not be checked: {} exited with {status} ({})",
            lua.display(),
            short(err.trim())
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The token's signature is HMAC-SHA256 over "header.payload" (RFC 7515's example key
    /// and input would need their exact bytes; this checks the shape and the MAC instead).
    #[test]
    fn token_is_three_parts_signed_over_the_first_two() {
        let t = token("app", "meet.example.test", b"secret", 1);
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 3);
        let mac = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"secret"),
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
        );
        assert_eq!(parts[2], URL_SAFE_NO_PAD.encode(mac.as_ref()));
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "app");
        assert_eq!(claims["room"], "*");
    }
}
