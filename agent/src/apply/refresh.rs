//! Starting the stack and refreshing the services whose configuration changed.

use super::Refreshes;
use crate::systemd::Systemd;
use crate::vocab::{Refresh, Service};
use anyhow::Result;

/// What systemd says of a service, as far as refreshing it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitState {
    /// No such unit: the package is not installed.
    Missing,
    /// Active, activating or reloading: it has read its files already.
    Running,
    /// Inactive or failed: it reads its files when it starts.
    Stopped,
}

/// Whether a service starts at boot by itself (its unit file's state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enablement {
    /// `enabled`: pulled in at boot.
    Enabled,
    /// `disabled`: not started unless asked.
    Disabled,
    /// Anything else (`static`, `masked`, `enabled-runtime`, `indirect`, ...): not ours to
    /// change; a mask in particular is an operator's decision.
    Other,
}

impl Enablement {
    /// From systemd's `UnitFileState` word.
    pub fn parse(state: &str) -> Self {
        match state {
            "enabled" => Enablement::Enabled,
            "disabled" => Enablement::Disabled,
            _ => Enablement::Other,
        }
    }
}

/// What [`bring_up`] needs of systemd; the D-Bus client in production, a recorder in tests.
#[allow(async_fn_in_trait)] // used only through generics in this crate
pub trait Refresher {
    /// The service's state.
    async fn state(&self, service: Service) -> Result<UnitState>;
    /// Queues a start.
    async fn start(&self, service: Service) -> Result<()>;
    /// Queues a reload or restart, as [`Service::refresh`] says.
    async fn refresh(&self, service: Service) -> Result<()>;
    /// Queues a stop (which also replaces a start queued at boot).
    async fn stop(&self, service: Service) -> Result<()>;
    /// Whether the service is enabled at boot.
    async fn enablement(&self, service: Service) -> Result<Enablement>;
    /// Disables it persistently (`DisableUnitFiles`).
    async fn disable(&self, service: Service) -> Result<()>;
}

impl Refresher for Systemd {
    async fn state(&self, service: Service) -> Result<UnitState> {
        let status = self.unit_status(service.unit()).await?;
        Ok(if !status.installed() {
            UnitState::Missing
        } else if matches!(
            status.active_state.as_str(),
            "active" | "reloading" | "activating"
        ) {
            UnitState::Running
        } else {
            UnitState::Stopped
        })
    }

    async fn start(&self, service: Service) -> Result<()> {
        Systemd::start(self, service.unit()).await
    }

    async fn refresh(&self, service: Service) -> Result<()> {
        match service.refresh() {
            Refresh::Reload => self.reload(service.unit()).await,
            Refresh::Restart => self.restart(service.unit()).await,
        }
    }

    async fn stop(&self, service: Service) -> Result<()> {
        Systemd::stop(self, service.unit()).await
    }

    async fn enablement(&self, service: Service) -> Result<Enablement> {
        Ok(Enablement::parse(
            &self.unit_file_state(service.unit()).await?,
        ))
    }

    async fn disable(&self, service: Service) -> Result<()> {
        Systemd::disable(self, service.unit()).await
    }
}

/// What [`bring_up`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Services queued to start.
    pub started: Vec<Service>,
    /// Services found running.
    pub running: Vec<Service>,
    /// Running services reloaded or restarted for new configuration.
    pub refreshed: Vec<Service>,
    /// Services not installed.
    pub missing: Vec<Service>,
    /// Services this machine's role does not run, stopped (or kept from starting).
    pub stopped: Vec<Service>,
    /// Services this role does not run, disabled so that they stay down at the next boot
    /// even if the configuration cannot be loaded then.
    pub disabled: Vec<Service>,
}

impl Report {
    /// "; reloaded nginx, prosody; restarted jicofo", or nothing when nothing was refreshed.
    pub fn refreshed_note(&self) -> String {
        let mut note = String::new();
        for (how, word) in [
            (Refresh::Reload, "reloaded"),
            (Refresh::Restart, "restarted"),
        ] {
            let names: Vec<&str> = self
                .refreshed
                .iter()
                .filter(|s| s.refresh() == how)
                .map(|s| s.short())
                .collect();
            if !names.is_empty() {
                note.push_str(&format!("; {word} {}", names.join(", ")));
            }
        }
        note
    }
}

/// Refreshes each pending service once: a running one is reloaded or restarted, a stopped
/// or missing one needs nothing (it reads its files when it starts). With `start_stopped`
/// (the start step), every stopped service of the stack is also queued to start; without
/// (a run without the start step), only pending services are looked at. Services leave the
/// pending record as systemd takes their refresh, even when a later one fails.
pub async fn bring_up<R: Refresher>(
    refreshes: &mut Refreshes,
    systemd: &R,
    start_stopped: bool,
) -> Result<Report> {
    bring_up_role(refreshes, systemd, start_stopped, &Service::ALL).await
}

/// [`bring_up`] for the services this machine's role runs (`wanted`); with
/// `start_stopped` (the start step) the others are stopped and, when something enabled
/// them (an operator, a package), disabled, so that a later boot whose configuration
/// cannot be loaded does not start them. Wanted services are never enabled: the image
/// leaves the stack disabled on purpose (image/provision/provision.sh) so that nothing
/// serves before this boot's run has written the instance's files, and the start step
/// starts them each boot. Enablement is the next boot's concern, so a failure there is
/// logged and does not stop the bring-up.
pub async fn bring_up_role<R: Refresher>(
    refreshes: &mut Refreshes,
    systemd: &R,
    start_stopped: bool,
    wanted: &[Service],
) -> Result<Report> {
    let mut report = Report::default();
    let mut done = Vec::new();
    let mut failure = None;
    // Every state the loop below reads, asked at once: over one D-Bus connection the
    // answers come in turn, but no query waits for the one before it to return (eight
    // services of four calls each, one after another before; asking at once took the
    // start step at a first boot under TCG from 0.91 to 0.65 s, medians of four boots).
    // Nothing the loop does to one service changes another's state.
    let asked: Vec<Service> = Service::ALL
        .into_iter()
        .filter(|s| start_stopped || (wanted.contains(s) && refreshes.is_pending(*s)))
        .collect();
    let answers = futures_util::future::join_all(asked.iter().map(|s| systemd.state(*s))).await;
    let mut states: Vec<(Service, Result<UnitState>)> = asked.into_iter().zip(answers).collect();
    let mut state_of = |service: Service| -> Result<UnitState> {
        match states.iter().position(|(s, _)| *s == service) {
            Some(at) => states.swap_remove(at).1,
            None => Err(anyhow::anyhow!("{} was not asked for", service.unit())),
        }
    };
    for service in Service::ALL {
        let pending = refreshes.is_pending(service);
        if !wanted.contains(&service) {
            if start_stopped {
                let state = state_of(service);
                let stop = async {
                    if state? != UnitState::Missing {
                        disable_if_enabled(systemd, service, &mut report).await;
                        systemd.stop(service).await?;
                        report.stopped.push(service);
                    }
                    Ok::<(), anyhow::Error>(())
                };
                if let Err(e) = stop.await {
                    failure = Some(e);
                    break;
                }
            }
            // Its files are read if it ever runs again; nothing to refresh now.
            if pending {
                done.push(service);
            }
            continue;
        }
        if !start_stopped && !pending {
            continue;
        }
        let state = state_of(service);
        if let Err(e) = visit(service, state, pending, systemd, start_stopped, &mut report).await {
            failure = Some(e);
            break;
        }
        if pending {
            done.push(service);
        }
    }
    refreshes.done(&done)?;
    match failure {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// What [`bring_up_one`] did with its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BroughtUp {
    /// Stopped, and queued to start.
    Started,
    /// Running, and reloaded or restarted for its changed files.
    Refreshed,
    /// Nothing now: running with nothing pending, not installed, or stopped in a run that
    /// starts nothing.
    Left,
}

/// Brings one service up ahead of the start step, as [`bring_up_role`] would there: a
/// running one whose files changed is reloaded or restarted, a stopped one is queued to
/// start when `start_stopped`. The service leaves the pending record once systemd took
/// the job, so the start step later finds it running with nothing to refresh. For the
/// host firewall, whose load then happens before the run's network steps instead of
/// between READY and the stack's starts (the caller waits for the job).
pub async fn bring_up_one<R: Refresher>(
    refreshes: &mut Refreshes,
    systemd: &R,
    service: Service,
    start_stopped: bool,
) -> Result<BroughtUp> {
    let pending = refreshes.is_pending(service);
    let mut report = Report::default();
    let state = systemd.state(service).await;
    visit(service, state, pending, systemd, start_stopped, &mut report).await?;
    if pending {
        refreshes.done(&[service])?;
    }
    Ok(if !report.started.is_empty() {
        BroughtUp::Started
    } else if !report.refreshed.is_empty() {
        BroughtUp::Refreshed
    } else {
        BroughtUp::Left
    })
}

/// Disables a service the role does not run if it is enabled; a failure is logged (it
/// matters at the next boot, and this boot's bring-up goes on).
async fn disable_if_enabled<R: Refresher>(systemd: &R, service: Service, report: &mut Report) {
    let change = async {
        if systemd.enablement(service).await? == Enablement::Enabled {
            systemd.disable(service).await?;
            report.disabled.push(service);
            tracing::info!(
                "disabled {} at boot: this machine's role does not run it",
                service.unit()
            );
        }
        Ok::<(), anyhow::Error>(())
    };
    if let Err(e) = change.await {
        tracing::warn!("could not disable {} at boot: {e:#}", service.unit());
    }
}

async fn visit<R: Refresher>(
    service: Service,
    state: Result<UnitState>,
    pending: bool,
    systemd: &R,
    start_stopped: bool,
    report: &mut Report,
) -> Result<()> {
    match state? {
        UnitState::Missing => report.missing.push(service),
        UnitState::Running => {
            report.running.push(service);
            if pending {
                systemd.refresh(service).await?;
                report.refreshed.push(service);
            }
        }
        UnitState::Stopped if start_stopped => {
            // At boot we are ordered before these units, so the job runs once we report
            // READY.
            systemd.start(service).await?;
            report.started.push(service);
        }
        UnitState::Stopped => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// A systemd that records what it is asked, with each service in a given state and
    /// refreshes of `fail_on` refused.
    struct Recorder {
        states: Vec<(Service, UnitState)>,
        calls: RefCell<Vec<String>>,
        fail_on: Option<Service>,
        /// Services whose unit file is disabled (the others are enabled).
        disabled: RefCell<Vec<Service>>,
    }

    impl Refresher for Recorder {
        async fn state(&self, service: Service) -> Result<UnitState> {
            Ok(self
                .states
                .iter()
                .find(|(s, _)| *s == service)
                .map_or(UnitState::Missing, |(_, st)| *st))
        }
        async fn start(&self, service: Service) -> Result<()> {
            self.calls
                .borrow_mut()
                .push(format!("start {}", service.short()));
            Ok(())
        }
        async fn stop(&self, service: Service) -> Result<()> {
            self.calls
                .borrow_mut()
                .push(format!("stop {}", service.short()));
            Ok(())
        }
        async fn enablement(&self, service: Service) -> Result<Enablement> {
            Ok(if self.disabled.borrow().contains(&service) {
                Enablement::Disabled
            } else {
                Enablement::Enabled
            })
        }
        async fn disable(&self, service: Service) -> Result<()> {
            self.disabled.borrow_mut().push(service);
            self.calls
                .borrow_mut()
                .push(format!("disable {}", service.short()));
            Ok(())
        }
        async fn refresh(&self, service: Service) -> Result<()> {
            if self.fail_on == Some(service) {
                anyhow::bail!("systemd refused ReloadUnit({})", service.unit());
            }
            let word = match service.refresh() {
                Refresh::Reload => "reload",
                Refresh::Restart => "restart",
            };
            self.calls
                .borrow_mut()
                .push(format!("{word} {}", service.short()));
            Ok(())
        }
    }

    fn running(fail_on: Option<Service>) -> Recorder {
        Recorder {
            states: Service::ALL
                .into_iter()
                .map(|s| (s, UnitState::Running))
                .collect(),
            calls: RefCell::default(),
            fail_on,
            disabled: RefCell::default(),
        }
    }

    fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_videobridge_stops_what_its_role_does_not_run_and_refreshes_only_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let mut refreshes = Refreshes::at(dir.path().join("pending.json"));
        refreshes
            .mark_pending(&[Service::Prosody, Service::Videobridge])
            .unwrap();
        let mut systemd = running(None);
        // Queued behind meet-agent at boot, not yet running.
        systemd.states[1].1 = UnitState::Stopped;
        let wanted = [Service::Firewall, Service::Videobridge];
        let report = block_on(bring_up_role(&mut refreshes, &systemd, true, &wanted)).unwrap();
        assert_eq!(
            systemd.calls.borrow().as_slice(),
            [
                "disable prosody",
                "stop prosody",
                "disable jicofo",
                "stop jicofo",
                "restart jitsi-videobridge2",
                "disable coturn",
                "stop coturn",
                "disable nginx",
                "stop nginx",
                "disable jibri",
                "stop jibri",
                "disable jigasi",
                "stop jigasi"
            ]
        );
        assert_eq!(
            report.disabled,
            [
                Service::Prosody,
                Service::Jicofo,
                Service::Coturn,
                Service::Nginx,
                Service::Jibri,
                Service::Jigasi
            ]
        );
        assert_eq!(
            report.stopped,
            [
                Service::Prosody,
                Service::Jicofo,
                Service::Coturn,
                Service::Nginx,
                Service::Jibri,
                Service::Jigasi
            ]
        );
        assert!(
            refreshes.is_empty(),
            "prosody's refresh is moot once it is stopped"
        );
    }

    #[test]
    fn services_the_role_runs_stay_disabled_and_only_the_start_step_touches_enablement() {
        let dir = tempfile::tempdir().unwrap();
        let mut refreshes = Refreshes::at(dir.path().join("pending.json"));
        let systemd = running(None);
        // The image leaves the stack disabled; the start step starts it and enables nothing.
        *systemd.disabled.borrow_mut() = vec![Service::Prosody, Service::Nginx];
        let report = block_on(bring_up(&mut refreshes, &systemd, true)).unwrap();
        assert!(systemd.calls.take().is_empty());
        assert!(report.disabled.is_empty());
        // A run without the start step leaves enablement alone.
        *systemd.disabled.borrow_mut() = vec![Service::Prosody];
        let wanted = [Service::Firewall, Service::Videobridge];
        block_on(bring_up_role(&mut refreshes, &systemd, false, &wanted)).unwrap();
        assert!(systemd.calls.take().is_empty());
    }

    #[test]
    fn a_service_changed_by_two_steps_is_refreshed_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut refreshes = Refreshes::at(dir.path().join("pending.json"));
        // The certificate (tls step) and prosody's file (jitsi step) both changed.
        refreshes.mark_pending(&Service::TLS_CONSUMERS).unwrap();
        refreshes
            .mark_pending(&[Service::Prosody, Service::Jicofo])
            .unwrap();
        let systemd = running(None);
        let report = block_on(bring_up(&mut refreshes, &systemd, true)).unwrap();
        assert_eq!(
            systemd.calls.take(),
            [
                "reload prosody",
                "restart jicofo",
                "reload coturn",
                "reload nginx"
            ]
        );
        assert_eq!(
            report.refreshed_note(),
            "; reloaded prosody, coturn, nginx; restarted jicofo"
        );
        assert!(refreshes.is_empty());
        assert!(Refreshes::at(dir.path().join("pending.json")).is_empty());
    }

    #[test]
    fn what_a_killed_run_left_pending_is_refreshed_though_no_file_changed() {
        let dir = tempfile::tempdir().unwrap();
        Refreshes::at(dir.path().join("pending.json"))
            .mark_pending(&[Service::Nginx])
            .unwrap();
        let mut next_run = Refreshes::at(dir.path().join("pending.json"));
        let systemd = running(None);
        block_on(bring_up(&mut next_run, &systemd, false)).unwrap();
        assert_eq!(systemd.calls.take(), ["reload nginx"]);
        assert!(Refreshes::at(dir.path().join("pending.json")).is_empty());
    }

    #[test]
    fn a_refused_refresh_stays_pending_and_those_taken_before_it_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut refreshes = Refreshes::at(dir.path().join("pending.json"));
        refreshes
            .mark_pending(&[Service::Prosody, Service::Nginx])
            .unwrap();
        let systemd = running(Some(Service::Nginx));
        let err = block_on(bring_up(&mut refreshes, &systemd, true)).unwrap_err();
        assert!(err.to_string().contains("nginx.service"), "{err}");
        assert_eq!(
            Refreshes::at(dir.path().join("pending.json")).pending(),
            [Service::Nginx]
        );
    }

    #[test]
    fn stopped_services_start_and_missing_ones_leave_the_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut refreshes = Refreshes::at(dir.path().join("pending.json"));
        refreshes
            .mark_pending(&[Service::Coturn, Service::Nginx])
            .unwrap();
        let systemd = Recorder {
            states: vec![(Service::Nginx, UnitState::Stopped)],
            calls: RefCell::default(),
            fail_on: None,
            disabled: RefCell::default(),
        };
        let report = block_on(bring_up(&mut refreshes, &systemd, true)).unwrap();
        assert_eq!(systemd.calls.take(), ["start nginx"]);
        assert_eq!(report.started, [Service::Nginx]);
        assert_eq!(report.missing.len(), Service::ALL.len() - 1);
        assert!(refreshes.is_empty());
    }
}
