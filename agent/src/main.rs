//! The `meet-agent` binary: parses the command line and runs the library.

use clap::Parser;
use meet_agent::cli::{CertAction, Cli, Command, ConfigAction};
use meet_agent::paths::Paths;
use meet_agent::step::{self, RunResult, Selection};
use meet_agent::{config, encoding, instance, status};
use std::io::Write;
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
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("meet-agent: {e:#}");
            ExitCode::from(3)
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    let paths = Paths::new(&cli.root);
    match cli.command {
        Command::Run { step: only } => {
            run(&paths, only.map_or(Selection::All, Selection::Only)).await
        }
        Command::Renew { retry } => {
            run(
                &paths,
                if retry {
                    Selection::Retry
                } else {
                    Selection::Renew
                },
            )
            .await
        }
        Command::Status { json } => {
            let report = status::collect(&paths).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", status::render(&report));
            }
            Ok(report.health.exit_code())
        }
        Command::Config { action } => match instance::load(&paths).await {
            Err(e) => {
                eprintln!("meet-agent: {:#}", e.error());
                Ok(1)
            }
            Ok(effective) => {
                match action {
                    ConfigAction::Check => println!(
                        "configuration is valid (instance source: {})",
                        effective.instance.provider
                    ),
                    ConfigAction::Show => print!("{}", config::show(&effective.config)?),
                }
                Ok(0)
            }
        },
        Command::User { action } => match instance::load(&paths).await {
            Err(e) => {
                eprintln!("meet-agent: {:#}", e.error());
                Ok(1)
            }
            Ok(effective) => match meet_agent::users::run(&effective.settings, &action) {
                Ok(()) => Ok(0),
                Err(e) => {
                    eprintln!("meet-agent: {e:#}");
                    Ok(1)
                }
            },
        },
        Command::Cert {
            action: CertAction::Encode { file },
        } => {
            let bytes = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("failed to read {}: {e}", file.display()))?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", encoding::gzip_base64(&bytes)?)?;
            Ok(0)
        }
    }
}

async fn run(paths: &Paths, selection: Selection) -> anyhow::Result<u8> {
    Ok(match step::run(paths, selection).await? {
        RunResult::Completed => 0,
        RunResult::StepFailed => 1,
        RunResult::NotStarted => 2,
    })
}
