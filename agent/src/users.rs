//! `meet-agent user add|passwd|del|list`: the accounts that may open rooms when
//! `jitsi.auth = "secure-domain"`, kept in prosody through its own prosodyctl. Passwords
//! are read from stdin (prompted without echo on a terminal), never from the command line.

use crate::config::Settings;
use crate::jitsi::prosodyctl::{self, Prosodyctl};
use crate::jitsi::AuthMode;
use anyhow::{anyhow, bail, Context, Result};
use std::io::{BufRead, IsTerminal, Write};

/// What to do.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum UserAction {
    /// Create a user; the password is read from stdin.
    Add {
        /// The user name (the part before @).
        name: String,
    },
    /// Set a user's password, read from stdin.
    Passwd {
        /// The user name.
        name: String,
    },
    /// Delete a user.
    Del {
        /// The user name.
        name: String,
    },
    /// List the users.
    List,
}

/// Runs `action` for the site in `settings`; prints one line of outcome.
pub fn run(settings: &Settings, action: &UserAction) -> Result<()> {
    let domain = settings
        .domain
        .as_deref()
        .ok_or_else(|| anyhow!("server.domain is not set; users belong to the site's domain"))?;
    if settings.jitsi.auth != AuthMode::SecureDomain {
        bail!(
            "jitsi.auth is \"{}\", so there are no users to manage; set jitsi.auth = \"secure-domain\" for registered users who open rooms",
            settings.jitsi.auth.as_str()
        );
    }
    let ctl = Prosodyctl::from_env();
    match action {
        UserAction::Add { name } => {
            let jid = jid(name, domain)?;
            let password = read_password()?;
            ctl.add(&jid, &password)?;
            println!("added {jid}");
        }
        UserAction::Passwd { name } => {
            let jid = jid(name, domain)?;
            let password = read_password()?;
            ctl.passwd(&jid, &password)?;
            println!("password of {jid} set");
        }
        UserAction::Del { name } => {
            let jid = jid(name, domain)?;
            ctl.delete(&jid)?;
            println!("deleted {jid}");
        }
        UserAction::List => {
            let data = std::env::var_os("MEET_AGENT_PROSODY_DATA")
                .map_or_else(|| "/var/lib/prosody".into(), std::path::PathBuf::from);
            for name in prosodyctl::list(&data, domain)? {
                println!("{name}");
            }
        }
    }
    Ok(())
}

/// `name@domain`, with `name` checked to be a plain XMPP local part.
fn jid(name: &str, domain: &str) -> Result<String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !ok {
        bail!("`{name}` is not a user name: use letters, digits, `.`, `-` and `_` (at most 64)");
    }
    Ok(format!("{}@{domain}", name.to_lowercase()))
}

/// A password from stdin: prompted twice without echo on a terminal, else one line.
fn read_password() -> Result<String> {
    let stdin = std::io::stdin();
    let password = if stdin.is_terminal() {
        let first = prompt_hidden("Password: ")?;
        let second = prompt_hidden("Repeat password: ")?;
        if first != second {
            bail!("the two passwords differ; nothing changed");
        }
        first
    } else {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        line.trim_end_matches(['\n', '\r']).to_string()
    };
    if password.chars().count() < 8 {
        bail!("the password is shorter than 8 characters; nothing changed");
    }
    if password.contains('\n') {
        bail!("the password holds a line break; nothing changed");
    }
    Ok(password)
}

/// Reads a line from the terminal with echo off, restoring the terminal afterwards.
fn prompt_hidden(prompt: &str) -> Result<String> {
    use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
    let stdin = std::io::stdin();
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let saved = tcgetattr(&stdin).context("cannot read the terminal's settings")?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    tcsetattr(&stdin, SetArg::TCSANOW, &quiet).context("cannot turn off echo")?;
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    let _ = tcsetattr(&stdin, SetArg::TCSANOW, &saved);
    eprintln!();
    read.context("cannot read the password")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}
