//! The `meet-agent` binary: parses the command line and runs the library.

use clap::Parser;
use meet_agent::cli::{BridgeAction, CertAction, Cli, Command, ConfigAction};
use meet_agent::effective::{self, OpsSettings};
use meet_agent::paths::Paths;
use meet_agent::pipeline::{self, RunResult, Selection};
use meet_agent::{config, encoding, instance, ops, status};
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
            say(format!("{e:#}"));
            ExitCode::from(3)
        }
    }
}

/// Prints an error for the operator. Errors quote what came from outside (a domain from
/// user-data, a key comment, an answer), so they pass the one terminal filter.
fn say(text: String) {
    eprintln!("meet-agent: {}", meet_agent::printable::terminal(&text));
}

async fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    let paths = Paths::new(&cli.root).with_host_facts(cli.host_facts.clone());
    let minute = std::time::Duration::from_secs(cli.minute_seconds);
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
        Command::Status { json, brief } => {
            // The login banner (`--brief`) must not hold a login up on another machine:
            // it leaves out the signaling probe and jicofo's per-bridge list.
            let reach = if brief {
                status::Reach::Local
            } else {
                status::Reach::Full
            };
            let report =
                status::collect_over(&paths, &mut meet_agent::apply::Bus::new(), reach).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else if brief {
                print!("{}", status::render_brief(&report));
            } else {
                print!("{}", status::render(&report));
            }
            Ok(report.health.exit_code())
        }
        Command::Config { action } => match instance::load(&paths).await {
            Err(e) => {
                say(format!("{:#}", e.error()));
                Ok(1)
            }
            Ok(effective) => {
                match action {
                    ConfigAction::Check => {
                        if let Err(e) = config::check_calendars(&effective.settings.calendars) {
                            say(format!("{e:#}"));
                            return Ok(1);
                        }
                        if let Some(supplied) = &effective.settings.tls_supplied {
                            let now = meet_agent::effective::host::facts(&paths)?.now();
                            let domain = effective.settings.domain.as_deref();
                            if let Err(e) = config::check_supplied(supplied, domain, now) {
                                say(format!("{e:#}"));
                                return Ok(1);
                            }
                        }
                        println!(
                            "configuration is valid (instance source: {})",
                            effective.instance.provider
                        )
                    }
                    ConfigAction::Show => print!("{}", config::show(&effective.config)?),
                }
                Ok(0)
            }
        },
        Command::User { action } => match settings(&paths).await {
            None => Ok(1),
            Some(settings) => match meet_agent::users::run(&paths, &settings, &action) {
                Ok(()) => Ok(0),
                Err(e) => {
                    say(format!("{e:#}"));
                    Ok(1)
                }
            },
        },
        Command::Shutdown {
            reboot,
            if_required,
            reason,
        } => shutdown(&paths, minute, reboot, if_required, &reason).await,
        Command::IdleCheck => idle_check(&paths, minute).await,
        Command::Scale {
            aws_endpoint,
            bridge_url,
        } => match instance::load(&paths).await {
            Err(e) => {
                say(format!("{:#}", e.error()));
                Ok(1)
            }
            Ok(effective) => {
                let seams = meet_agent::scale::service::Seams {
                    aws: aws_endpoint.or_else(|| effective.config.source.aws_endpoint.clone()),
                    bridge: bridge_url,
                };
                match meet_agent::scale::service::run(&paths, &effective.settings, &seams).await {
                    Ok(()) => Ok(0),
                    Err(e) => {
                        say(format!("{e:#}"));
                        Ok(1)
                    }
                }
            }
        },
        Command::Bridge {
            action:
                BridgeAction::Token {
                    new,
                    domain,
                    host,
                    key_out,
                },
        } => {
            let made = if new {
                match (domain.as_deref(), key_out.as_deref()) {
                    (Some(domain), Some(key_out)) => {
                        meet_agent::bridge::command::new_token(domain, host.as_deref(), key_out)
                    }
                    _ => Err(anyhow::anyhow!("--new needs --domain and --key-out")),
                }
            } else {
                match instance::load(&paths).await {
                    Err(e) => Err(anyhow::anyhow!("{:#}", e.error())),
                    Ok(effective) => meet_agent::bridge::command::node_token(
                        &paths,
                        &effective.settings,
                        host.as_deref(),
                    ),
                }
            };
            match made {
                Ok(token) => {
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{token}")?;
                    Ok(0)
                }
                Err(e) => {
                    say(format!("{e:#}"));
                    Ok(1)
                }
            }
        }
        Command::Cert {
            action: CertAction::Encode { file },
        } => {
            let bytes =
                meet_agent::fsutil::read_regular(&file, meet_agent::tls::material::PEM_LIMIT)?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", encoding::gzip_base64(&bytes)?)?;
            Ok(0)
        }
    }
}

/// The settings the operations commands act on, from this boot's effective configuration
/// (never asking the instance source again), or the one-line reason they cannot be had
/// (printed).
async fn settings(paths: &Paths) -> Option<OpsSettings> {
    match effective::ops_settings(paths).await {
        Ok(settings) => Some(settings),
        Err(e) => {
            say(format!("{e:#}"));
            None
        }
    }
}

fn endpoints(s: &OpsSettings) -> ops::stats::Endpoints {
    ops::stats::Endpoints {
        videobridge: s.schedule.videobridge_stats_url.clone(),
        jicofo: s.schedule.jicofo_stats_url.clone(),
    }
}

async fn shutdown(
    paths: &Paths,
    minute: std::time::Duration,
    reboot: bool,
    if_required: bool,
    reason: &str,
) -> anyhow::Result<u8> {
    if if_required && !paths.join(meet_agent::pipeline::REBOOT_REQUIRED).exists() {
        println!("no reboot required");
        return Ok(0);
    }
    let Some(s) = settings(paths).await else {
        return Ok(1);
    };
    let mut limit = minute * s.schedule.postpone_limit_minutes;
    if reboot {
        // A reboot for updates stays inside its maintenance window.
        limit = limit.min(minute * s.updates.reboot_window_minutes);
    }
    let policy = ops::shutdown::Policy {
        step: minute * s.schedule.postpone_minutes,
        limit,
        endpoints: endpoints(&s),
        minute,
    };
    let action = if reboot {
        ops::power::Action::Reboot
    } else {
        ops::power::Action::PowerOff
    };
    match ops::shutdown::run(paths, action, reason, &policy).await {
        Ok(ops::shutdown::Ended::Requested) => Ok(0),
        Ok(ops::shutdown::Ended::GaveUp) => Ok(1),
        Err(e) => {
            say(format!("{e:#}"));
            Ok(1)
        }
    }
}

async fn idle_check(paths: &Paths, minute: std::time::Duration) -> anyhow::Result<u8> {
    let Some(s) = settings(paths).await else {
        return Ok(1);
    };
    if s.schedule.idle_shutdown_minutes == 0 {
        println!("idle shutdown is off (schedule.idle_shutdown_minutes = 0)");
        return Ok(0);
    }
    match ops::idle::check(
        paths,
        s.schedule.idle_shutdown_minutes,
        &endpoints(&s),
        minute,
    )
    .await
    {
        Ok(()) => Ok(0),
        Err(e) => {
            say(format!("{e:#}"));
            Ok(1)
        }
    }
}

async fn run(paths: &Paths, selection: Selection) -> anyhow::Result<u8> {
    Ok(match pipeline::run(paths, selection).await {
        Ok(RunResult::Completed) => 0,
        Ok(RunResult::StepFailed) => 1,
        Ok(RunResult::NotStarted) => 2,
        // An expected failure (a full disk), not a bug: reported as a failed step is.
        // Also expected: something planted at the run lock's path; the sentence names it
        // and says to remove it.
        Err(e)
            if e.downcast_ref::<meet_agent::state::SaveError>().is_some()
                || e.downcast_ref::<meet_agent::fsutil::LockRefused>()
                    .is_some() =>
        {
            say(format!("{e:#}"));
            1
        }
        Err(e) => return Err(e),
    })
}
