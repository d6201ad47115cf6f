//! The `meet-agent` binary: parses the command line, sets up logging and the runtime, and
//! hands the command to the library (`commands::dispatch`).

use clap::Parser;
use meet_agent::cli::Cli;
use meet_agent::commands;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    meet_agent::logging::init(cli.verbose);
    meet_agent::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("meet-agent: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(commands::dispatch(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            commands::say(format!("{e:#}"));
            ExitCode::from(3)
        }
    }
}
