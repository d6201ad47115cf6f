//! The first-boot pipeline: ordered steps, each recording its outcome in the state file.
//!
//! How it fits together (see also docs/pipeline.md):
//! - Each step is a module in `steps/` and declares there, in its `STEP` constant (a
//!   [`Step`]), its name, when it runs ([`Runs`]: every boot or once per instance, and
//!   whether `meet-agent renew` runs it), what it does without configuration, and its code
//!   (a [`RunFn`], the one signature of every step). [`STEPS`] lists those declarations in
//!   order; the runner knows steps from nowhere else and has no branch naming one.
//! - A step reads an [`Input`] it cannot change (paths, settings, identity, first boot,
//!   instance id, what earlier steps of this run observed, and where to report progress)
//!   and changes the machine through an [`ApplyHandle`] (the durable record of services to
//!   refresh, and the run's one D-Bus connection). It returns a [`Ran`]: its [`Outcome`]
//!   and typed [`Effect`]s, among them work for later in the run ([`Later`]).
//! - The runner ([`run`]) takes the lock, loads the configuration, runs the steps, records
//!   each outcome in state.json, folds each step's effects into the next steps' input,
//!   does the work steps left for after all steps, sends READY, calls the command's
//!   [`AfterReady`] (the console banner) and does the work left for after READY. It is the
//!   only place data moves from one step to another: no step writes anything another step
//!   reads back in the same run (the state file aside).

mod certificate;
mod ledger;
mod runner;
mod step;
mod steps;

pub use runner::{run, AfterReady, RunResult, Selection};
pub use step::{
    settings, ApplyHandle, Effect, Input, Later, NoProgress, Observations, Outcome, Progress,
    ProgressWriter, Ran, RunFn, Runs, Step, StepFuture, StepName, When, WithoutConfigFn,
};
pub use steps::identity::public_ipv4_known;
pub use steps::updates::REBOOT_REQUIRED;
pub use steps::STEPS;
