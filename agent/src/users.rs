//! `meet-agent user add|passwd|del|list`: the accounts that may open rooms when
//! `jitsi.auth = "secure-domain"`, kept in prosody through its own prosodyctl. Passwords
//! are read from stdin (prompted without echo on a terminal), never from the command line.
//!
//! Names and passwords are checked here, with our own messages, before prosody sees them
//! (see [`prepare_name`] and [`check_password`]); changes take the agent's run lock so that
//! two of them (or one and a `run`) never interleave; every path is below `--root`.

use crate::jitsi::prosodyctl::{self, Prosodyctl};
use crate::jitsi::AuthMode;
use crate::paths::Paths;
use anyhow::{anyhow, bail, Context, Result};
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

/// Most characters a user name may have, after preparation.
pub const NAME_MAX_CHARS: usize = 64;
/// Most UTF-8 bytes a user name may have: prosody keeps each account in a file named after
/// it, every byte but ASCII letters and digits written as three (`%c3%a9` for `é`), and a
/// file name has at most 255 bytes.
pub const NAME_MAX_BYTES: usize = 80;
/// Fewest characters a password may have.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Most bytes a password may have, as given and after Unicode NFKC normalization (prosody's
/// SASLprep refuses 1024 bytes and more).
pub const PASSWORD_MAX_BYTES: usize = 1000;

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

/// Runs `action` for the site of `domain` (`server.domain`) whose `jitsi.auth` is `auth`,
/// below the root of `paths`; prints one line of outcome naming the account as prosody
/// stores it.
pub fn run(paths: &Paths, domain: Option<&str>, auth: AuthMode, action: &UserAction) -> Result<()> {
    let domain = domain
        .ok_or_else(|| anyhow!("server.domain is not set; users belong to the site's domain"))?;
    if auth != AuthMode::SecureDomain {
        bail!(
            "jitsi.auth is \"{}\", so there are no users to manage; set jitsi.auth = \"secure-domain\" for registered users who open rooms",
            auth.as_str()
        );
    }
    let site = Site::new(paths);
    match action {
        UserAction::Add { name } => {
            let name = prepare_name(name)?;
            let password = read_password()?;
            let _lock = lock(paths)?;
            if site.exists(&name, domain)? {
                bail!("{name}@{domain} already exists; use `meet-agent user passwd {name}` to change its password");
            }
            site.ctl()?.add(&format!("{name}@{domain}"), &password)?;
            println!("added {name}@{domain}");
        }
        UserAction::Passwd { name } => {
            let name = prepare_name(name)?;
            let password = read_password()?;
            let _lock = lock(paths)?;
            if !site.exists(&name, domain)? {
                bail!(
                    "there is no user {name}@{domain}; create it with `meet-agent user add {name}`"
                );
            }
            site.ctl()?.passwd(&format!("{name}@{domain}"), &password)?;
            println!("password of {name}@{domain} set");
        }
        UserAction::Del { name } => {
            let name = prepare_name(name)?;
            let _lock = lock(paths)?;
            if !site.exists(&name, domain)? {
                bail!("there is no user {name}@{domain}; `meet-agent user list` shows the users");
            }
            site.ctl()?.delete(&format!("{name}@{domain}"))?;
            println!("deleted {name}@{domain}");
        }
        UserAction::List => {
            for name in prosodyctl::list(&site.data, domain)? {
                println!("{name}");
            }
        }
    }
    Ok(())
}

/// Where prosody's configuration and accounts are for this root.
struct Site {
    /// The root (`/` on the machine).
    root: PathBuf,
    /// prosody's main configuration, when not prosodyctl's default.
    config: Option<PathBuf>,
    /// prosody's data directory, where the accounts are.
    data: PathBuf,
}

impl Site {
    /// Debian's `/etc/prosody/prosody.cfg.lua` and `/var/lib/prosody` below the root of
    /// `paths`, as every command finds its files (below `/`, prosodyctl's own default
    /// configuration).
    fn new(paths: &Paths) -> Self {
        let below_root = paths.root() != Path::new("/");
        Self {
            root: paths.root().to_path_buf(),
            config: below_root.then(|| paths.prosody_config()),
            data: paths.prosody_data(),
        }
    }

    /// Whether `name@domain` has an account.
    fn exists(&self, name: &str, domain: &str) -> Result<bool> {
        Ok(prosodyctl::list(&self.data, domain)?
            .iter()
            .any(|n| n == name))
    }

    /// prosodyctl for this site. Below another root, or with another data directory, it
    /// gets a configuration of ours that includes the site's and then sets `data_path`, so
    /// that the accounts land where [`Site::exists`] and `list` look, never in the host's
    /// /var/lib/prosody.
    fn ctl(&self) -> Result<Prosodyctl> {
        let default_data = Path::new(prosodyctl::DATA);
        let Some(config) = &self.config else {
            return Ok(Prosodyctl::at(None, self.data.clone()));
        };
        if !config.is_file() {
            bail!(
                "prosody's configuration {} does not exist; install prosody below {} (its configuration belongs at /etc/prosody/prosody.cfg.lua there)",
                config.display(),
                self.root.display()
            );
        }
        if self.root == Path::new("/") && self.data == default_data {
            return Ok(Prosodyctl::at(Some(config.clone()), self.data.clone()));
        }
        let wrapper = self.root.join("run/meet-agent/prosodyctl.cfg.lua");
        let text = format!(
            "-- Written by `meet-agent user`: the site's prosody configuration, with its data\n\
             -- below the root meet-agent was given.\n\
             Include {}\n\
             VirtualHost \"*\" -- back to the global section\n\
             data_path = {}\n",
            lua_string(&config.to_string_lossy()),
            lua_string(&self.data.to_string_lossy()),
        );
        crate::fsutil::write_atomic(&wrapper, text.as_bytes(), 0o644)?;
        Ok(Prosodyctl::at(Some(wrapper), self.data.clone()))
    }
}

/// `s` as a quoted Lua string.
fn lua_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Takes the agent's run lock (the one `run` and `renew` hold), saying so when another
/// command holds it, so that user changes never interleave with each other or with a run.
fn lock(paths: &Paths) -> Result<nix::fcntl::Flock<std::fs::File>> {
    use nix::fcntl::{Flock, FlockArg};
    let path = paths.run_lock();
    // No link followed, nothing but a regular file used (as the run's own lock).
    let file = crate::fsutil::open_lock_file(&path)?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => Ok(lock),
        Err((file, nix::errno::Errno::EWOULDBLOCK)) => {
            eprintln!(
                "meet-agent: waiting for another meet-agent command (run, renew or user) to finish"
            );
            Flock::lock(file, FlockArg::LockExclusive)
                .map_err(|(_, e)| anyhow!("failed to lock {}: {e}", path.display()))
        }
        Err((_, e)) => Err(anyhow!("failed to lock {}: {e}", path.display())),
    }
}

/// A user name as prosody stores it, or why it is refused.
///
/// prosody prepares the local part of a JID with XMPP's nodeprep (RFC 3920 appendix A, a
/// stringprep profile) in strict mode, and refuses what fails it. The same preparation is
/// made here first, so that the name printed is the one stored and a name prosody would
/// refuse is refused in our words: characters that map to nothing are dropped, case is
/// folded and Unicode compatibility forms are folded (NFKC: `ﬀ` is `ff`, `ＡＢＣ` is `abc`);
/// spaces, controls, private-use characters and `"&'/:<>@` are refused; right-to-left text
/// must not mix with left-to-right letters; and every character must exist in Unicode 3.2,
/// the version the profile's tables come from. On top of that, our own rule: 1 to 64
/// characters and at most 80 bytes of UTF-8, letters, digits, `.`, `-` and `_`, beginning
/// with a letter or a digit (so no name is read as an option).
pub fn prepare_name(name: &str) -> Result<String> {
    let shown = name.escape_debug();
    // Checked on the input too, not only on nodeprep's output as the profile says: prosody
    // (ICU) normalizes with Unicode 3.2's data, under which a newer character stays itself
    // and is refused, while a normalizer with newer data may fold it to an older one
    // (U+1F130 SQUARED LATIN CAPITAL LETTER A to `A`).
    if let Some(new) = name
        .chars()
        .find(|&c| stringprep::tables::unassigned_code_point(c))
    {
        bail!(
            "`{shown}` is not a user name: `{}` (U+{:04X}) came into Unicode after version 3.2, and XMPP user names may only hold characters of 3.2 (prosody would refuse it); choose a name without it",
            new.escape_debug(),
            new as u32
        );
    }
    let prepared = match stringprep::nodeprep(name) {
        Ok(prepared) => prepared.into_owned(),
        Err(_) => bail!("`{shown}` is not a user name: {}", nodeprep_refusal(name)),
    };
    let Some(first) = prepared.chars().next() else {
        bail!("a user name cannot be empty");
    };
    if !first.is_alphanumeric() {
        bail!("`{shown}` is not a user name: it must begin with a letter or a digit");
    }
    if let Some(bad) = prepared
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '.' | '-' | '_')))
    {
        bail!(
            "`{shown}` is not a user name: `{}` is not allowed; use letters, digits, `.`, `-` and `_`",
            bad.escape_debug()
        );
    }
    let count = prepared.chars().count();
    if count > NAME_MAX_CHARS {
        bail!("`{shown}` is not a user name: it has {count} characters, at most {NAME_MAX_CHARS} are allowed");
    }
    if prepared.len() > NAME_MAX_BYTES {
        bail!(
            "`{shown}` is not a user name: it takes {} bytes in UTF-8, at most {NAME_MAX_BYTES} are allowed (prosody names a file after it)",
            prepared.len()
        );
    }
    Ok(prepared)
}

/// Why nodeprep refused `name`, in our words: the first character it refuses on its own,
/// else (every character passes alone) the mix of writing directions.
fn nodeprep_refusal(name: &str) -> String {
    let mut one = [0u8; 4];
    match name
        .chars()
        .find(|c| stringprep::nodeprep(c.encode_utf8(&mut one)).is_err())
    {
        Some(c) if c.is_ascii_graphic() => format!(
            "`{c}` is not allowed in XMPP user names (prosody would refuse it); use letters, digits, `.`, `-` and `_`"
        ),
        Some(c) => format!(
            "`{}` (U+{:04X}) is not allowed in XMPP user names (prosody would refuse it); use letters, digits, `.`, `-` and `_`",
            c.escape_debug(),
            c as u32
        ),
        None => "it mixes right-to-left letters (such as Hebrew or Arabic) with left-to-right ones, or does not begin and end with a right-to-left letter, which XMPP user names may not (prosody would refuse it); write it in one direction".to_string(),
    }
}

/// Checks a password before prosody sees it: 8 or more characters, at most 1000 bytes
/// (also after Unicode NFKC normalization, which SASLprep applies), and no line break or
/// other control character.
pub fn check_password(password: &str) -> Result<()> {
    if password.contains(['\n', '\r']) {
        bail!("the password holds a line break; give it on one line (nothing changed)");
    }
    if password.chars().any(char::is_control) {
        bail!("the password holds a control character (such as a tab); leave those out (nothing changed)");
    }
    if password.chars().count() < PASSWORD_MIN_CHARS {
        bail!("the password is shorter than {PASSWORD_MIN_CHARS} characters; nothing changed");
    }
    let normalized = icu_normalizer::ComposingNormalizerBorrowed::new_nfkc().normalize(password);
    if password.len() > PASSWORD_MAX_BYTES || normalized.len() > PASSWORD_MAX_BYTES {
        bail!("the password is longer than {PASSWORD_MAX_BYTES} bytes (after Unicode normalization); choose a shorter one (nothing changed)");
    }
    Ok(())
}

/// A password from stdin: prompted twice without echo on a terminal; otherwise all of
/// stdin, less one final line break (a second line is refused, never dropped).
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
        // A bound a little above the longest password, so that a huge input is refused
        // rather than read whole.
        let limit = (PASSWORD_MAX_BYTES * 4) as u64;
        let mut bytes = Vec::new();
        stdin
            .lock()
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .context("cannot read the password from stdin")?;
        if bytes.len() as u64 > limit {
            bail!("the password is longer than {PASSWORD_MAX_BYTES} bytes; choose a shorter one (nothing changed)");
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow!("the password is not UTF-8 text; nothing changed"))?;
        strip_final_newline(&text).to_string()
    };
    check_password(&password)?;
    Ok(password)
}

/// `text` without one final `\n` or `\r\n`.
fn strip_final_newline(text: &str) -> &str {
    text.strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(text)
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
    Ok(strip_final_newline(&line).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_prepared_as_prosody_stores_them() {
        assert_eq!(prepare_name("Alice").unwrap(), "alice");
        assert_eq!(prepare_name("ﬀ").unwrap(), "ff");
        assert_eq!(prepare_name("ＡＢＣ").unwrap(), "abc");
        assert_eq!(prepare_name("Straße").unwrap(), "strasse");
        assert_eq!(prepare_name("ΟΔΟΣ").unwrap(), "οδοσ");
        assert_eq!(prepare_name("j.doe-2_x").unwrap(), "j.doe-2_x");
        // Mapped to nothing by nodeprep (table B.1), as prosody does.
        assert_eq!(prepare_name("bo\u{ad}b").unwrap(), "bob");
        assert_eq!(prepare_name("שלום").unwrap(), "שלום");
    }

    #[test]
    fn names_prosodys_nodeprep_refuses_are_refused_first() {
        for (name, words) in [
            // Newer than Unicode 3.2, even where NFKC would fold it to an older letter.
            ("ꭰꭱ", "U+AB70"),
            ("\u{1F130}b", "U+1F130"),
            ("\u{1E900}", "U+1E900"),
            ("aא", "right-to-left"),
            ("سلام1", "right-to-left"),
            ("a:b", "`:` is not allowed in XMPP"),
            ("a\u{e000}", "U+E000"),
        ] {
            let err = prepare_name(name).unwrap_err().to_string();
            assert!(err.contains(words), "{name:?}: {err}");
        }
    }

    #[test]
    fn names_that_could_be_options_or_paths_are_refused() {
        for name in [
            "-rf", "--help", ".", "..", "_x", "", "a b", "a@b", "a/b", "a\nb",
        ] {
            let err = prepare_name(name).unwrap_err().to_string();
            assert!(err.contains("user name"), "{name:?}: {err}");
        }
    }

    #[test]
    fn the_name_limits_say_what_they_count() {
        assert!(prepare_name(&"a".repeat(64)).is_ok());
        let err = prepare_name(&"a".repeat(65)).unwrap_err().to_string();
        assert!(err.contains("65 characters, at most 64"), "{err}");
        assert!(prepare_name(&"é".repeat(40)).is_ok());
        let err = prepare_name(&"é".repeat(41)).unwrap_err().to_string();
        assert!(err.contains("82 bytes in UTF-8, at most 80"), "{err}");
    }

    #[test]
    fn passwords_are_checked_in_our_words() {
        assert!(check_password("abcdefgh").is_ok());
        let err = check_password("abcdefgh\nsecondline")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line break"), "{err}");
        assert!(check_password("abcdefgh\rsecond").is_err());
        assert!(check_password("abc\tdefgh")
            .unwrap_err()
            .to_string()
            .contains("control"));
        assert!(check_password("short")
            .unwrap_err()
            .to_string()
            .contains("shorter than 8"));
        assert!(check_password(&"x".repeat(1000)).is_ok());
        let err = check_password(&"x".repeat(1024)).unwrap_err().to_string();
        assert!(err.contains("longer than 1000 bytes"), "{err}");
        // U+FDFA is 3 bytes but 33 after NFKC: the limit holds after normalization.
        let err = check_password(&"\u{fdfa}".repeat(100))
            .unwrap_err()
            .to_string();
        assert!(err.contains("longer than 1000 bytes"), "{err}");
        assert_eq!(strip_final_newline("pw\r\n"), "pw");
        assert_eq!(strip_final_newline("pw\n\n"), "pw\n");
    }
}
