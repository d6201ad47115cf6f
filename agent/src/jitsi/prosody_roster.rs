//! The roster entry prosody's `client_proxy` component needs: `focus.DOMAIN` only learns
//! of jicofo's session (and so can forward clients' requests to it) from presence that
//! `focus@auth.DOMAIN` sends to the contacts of its roster. Upstream creates it at install:
//! jitsi-meet-prosody's postinst (`prosodyctl mod_roster_command subscribe focus.DOMAIN
//! focus@auth.DOMAIN`) and docker-jitsi-meet's `prosody/rootfs/etc/s6-overlay/scripts/
//! register-setup` (`prosodyctl shell roster subscribe_both focus@auth.DOMAIN
//! focus.DOMAIN`, 2026-08). A component has no roster of its own, so the only entry either
//! makes is in focus's roster; we write it with subscription "both", as the issue asks
//! (subscribe_both's end state once the component has answered).
//!
//! Written straight into prosody's file storage as Prosody 13's mod_storage_internal keeps
//! a roster (`DATA/<encoded host>/roster/<encoded user>.dat`, a Lua table whose `[false]`
//! entry is the roster's metadata), compared with what `prosodyctl shell roster
//! subscribe_both` wrote for two local users on Prosody 13.0.1.

use crate::apply::{write_beneath, Owner};
use anyhow::Result;
use std::path::Path;

/// The file text of a roster holding `contact` with subscription "both".
pub fn text(contact: &str) -> String {
    // Lua's string escapes for `"` and `\`; host names carry neither, but say what we mean.
    let contact = contact.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        "return {{\n\t[false] = {{\n\t\t[\"version\"] = 1;\n\t\t[\"pending\"] = {{}};\n\t}};\n\t[\"{contact}\"] = {{\n\t\t[\"subscription\"] = \"both\";\n\t\t[\"groups\"] = {{}};\n\t}};\n}};\n"
    )
}

/// Writes `user@host`'s roster (holding only `contact`, subscription both) below prosody's
/// `data_path`, atomically, owned by the prosody user where it exists, following no link
/// below `data_path`. Returns whether the file changed.
pub fn write(data_path: &Path, host: &str, user: &str, contact: &str) -> Result<bool> {
    // prosody reads and rewrites (on roster changes) its files as its own user, who can
    // also plant links in its storage: nothing below data_path is followed.
    let host = super::prosodyctl::encode(host);
    let name = format!("{}.dat", super::prosodyctl::encode(user));
    write_beneath(
        data_path,
        &[&host, "roster"],
        &name,
        text(contact).as_bytes(),
        0o640,
        Owner::user("prosody"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout Prosody 13.0.1 wrote (`prosodyctl shell roster subscribe_both` of two
    /// local users, focus@auth... and bob@auth...), with our contact and version 1.
    #[test]
    fn matches_what_prosody_writes() {
        assert_eq!(
            text("focus.meet.example.test"),
            "return {\n\t[false] = {\n\t\t[\"version\"] = 1;\n\t\t[\"pending\"] = {};\n\t};\n\t[\"focus.meet.example.test\"] = {\n\t\t[\"subscription\"] = \"both\";\n\t\t[\"groups\"] = {};\n\t};\n};\n"
        );
    }

    /// Where prosody looks for it, and a rerun with the same contact changes nothing.
    #[test]
    fn writes_into_prosodys_storage_once() {
        let dir = tempfile::tempdir().unwrap();
        assert!(write(
            dir.path(),
            "auth.meet.example.test",
            "focus",
            "focus.meet.example.test"
        )
        .unwrap());
        let file = dir
            .path()
            .join("auth%2emeet%2eexample%2etest/roster/focus.dat");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            text("focus.meet.example.test")
        );
        assert!(!write(
            dir.path(),
            "auth.meet.example.test",
            "focus",
            "focus.meet.example.test"
        )
        .unwrap());
    }
}
