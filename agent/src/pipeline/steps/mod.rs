//! The pipeline's steps, one module each, and [`STEPS`], their declarations in order.

pub mod access;
pub mod ddns;
pub mod dns_wait;
pub mod firewall;
pub mod identity;
pub mod jitsi;
pub mod schedule;
pub mod secrets;
pub mod start;
pub mod tls;
pub mod tune;
pub mod updates;

use super::step::{Runs, Step, StepName};

/// Every step's declaration, in the order they run.
pub const STEPS: [Step; 12] = [
    identity::STEP,
    firewall::STEP,
    ddns::STEP,
    dns_wait::STEP,
    tls::STEP,
    secrets::STEP,
    jitsi::STEP,
    tune::STEP,
    access::STEP,
    schedule::STEP,
    updates::STEP,
    start::STEP,
];

// STEPS holds each step once, in the enum's order, so that `StepName::step` can index it.
const _: () = {
    let mut i = 0;
    while i < STEPS.len() {
        assert!(
            STEPS[i].name as usize == i,
            "STEPS is not in StepName's order"
        );
        i += 1;
    }
};

impl StepName {
    /// Every step in pipeline order (the order of [`STEPS`]).
    pub const ALL: [StepName; STEPS.len()] = {
        let mut all = [StepName::Identity; STEPS.len()];
        let mut i = 0;
        while i < STEPS.len() {
            all[i] = STEPS[i].name;
            i += 1;
        }
        all
    };

    /// The step's declaration (its module's `STEP`).
    pub fn step(self) -> &'static Step {
        // In range and the right one: STEPS is checked, at compile time, to hold every
        // step in the enum's order.
        &STEPS[self as usize]
    }

    /// Whether the step runs once per instance (others run on every boot), as it declares.
    pub fn once_per_instance(self) -> bool {
        self.step().runs == Runs::OncePerInstance
    }
}
