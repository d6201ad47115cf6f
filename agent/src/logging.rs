//! Logging through tracing: journald under systemd, stderr otherwise.
//!
//! tracing-journald is used rather than systemd-journal-logger because the agent logs
//! through `tracing` (as zbus and reqwest's stack do); systemd-journal-logger is a `log`
//! backend and would need a tracing-to-log bridge for the same result. Under journald the
//! journal adds the timestamp, so we add none of our own.

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;

/// Whether stderr is connected to the journal (systemd sets `JOURNAL_STREAM` to the
/// device and inode of the stream it gave us).
fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(value) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = value.split_once(':') else {
        return false;
    };
    let Ok(meta) = std::fs::metadata("/proc/self/fd/2") else {
        return false;
    };
    dev.parse() == Ok(meta.dev()) && ino.parse() == Ok(meta.ino())
}

/// Sets up logging; `verbosity` 0 is info, 1 debug, 2 or more trace. Only meet-agent's own
/// events go below info; libraries stay at warn unless `verbosity` is 3 or more.
pub fn init(verbosity: u8) {
    let level = match verbosity {
        0 => LevelFilter::INFO,
        1 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    let libraries = if verbosity >= 3 {
        level
    } else {
        LevelFilter::WARN
    };
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(libraries)
        .with_target("meet_agent", level);
    if stderr_is_journal() {
        if let Ok(journald) = tracing_journald::layer() {
            tracing_subscriber::registry()
                .with(journald.with_syslog_identifier("meet-agent".into()))
                .with(filter)
                .init();
            return;
        }
    }
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .fmt_fields(printable_fields())
                .with_writer(std::io::stderr)
                .without_time()
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_target(false),
        )
        .with(filter)
        .init();
}

/// How an event's fields are written to stderr: the message as it is, other fields as
/// `name=value`, each through [`crate::printable::terminal`]. Log lines quote what came
/// from outside (a provider's answer, a lookup's, AWS's), and stderr is often a terminal;
/// tracing's own escaping covers ESC, BEL and C1 only, not the other controls and the
/// direction overrides that the one filter covers.
fn printable_fields() -> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> {
    use tracing_subscriber::field::MakeExt;
    tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
        // `log.*` fields are the log crate's metadata, which tracing's own formatter
        // leaves out too.
        if field.name().starts_with("log.") {
            return Ok(());
        }
        let text = if field.name() == "message" {
            format!("{value:?}")
        } else {
            format!("{}={value:?}", field.name())
        };
        write!(writer, "{}", crate::printable::terminal(&text))
    })
    .delimited(" ")
}
