//! The commands: each reads what it needs from one [`Context`] (built once per process)
//! and calls the layers below. `main.rs` only parses the command line and picks one here.
//!
//! Errors a user caused are printed here as one line ([`say`]) and become an exit code;
//! an `Err` returned from [`dispatch`] is a bug or an unexpected failure (exit 3).

mod bridge;
mod bridge_token;
mod cert;
mod config;
mod context;
mod ops;
mod recording;
mod recording_guard;
mod run;
mod scale;
mod status;
mod user;

use crate::cli::{Cli, Command, RecordingAction};
use crate::paths::Paths;
pub use context::{say, Context};

/// Runs `cli`'s command; the result is the process's exit code (docs in `cli.rs`).
pub async fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    let paths = Paths::new(&cli.root);
    let command = match cli.command {
        // jibri's finalize script, as jibri's user: it cannot read the drop-ins or
        // meet-agent's state and needs neither, so it runs before (and without) a Context.
        Command::Recording {
            action: RecordingAction::Finalize { dir },
        } => return Ok(recording::finalize(&paths, &dir)),
        command => command,
    };
    let ctx = Context::new(paths)?;
    match command {
        Command::Run { step } => run::run(&ctx, step).await,
        Command::Renew { retry } => run::renew(&ctx, retry).await,
        Command::Status { json, brief } => status::status(&ctx, json, brief).await,
        Command::Config { action } => config::config(&ctx, action).await,
        Command::User { action } => user::user(&ctx, &action).await,
        Command::Shutdown {
            reboot,
            if_required,
            reason,
        } => ops::shutdown(&ctx, reboot, if_required, &reason).await,
        Command::IdleCheck => ops::idle_check(&ctx).await,
        Command::Scale => scale::scale(&ctx).await,
        Command::Recording { action } => recording::recording(&ctx, action).await,
        Command::Bridge { action } => bridge::bridge(&ctx, action).await,
        Command::Cert { action } => cert::cert(action),
    }
}
