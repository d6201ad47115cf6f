//! Steps whose work arrives with later releases. They say so plainly instead of reporting
//! success for work they did not do.

use super::{Outcome, StepName};

/// The honest outcome of a step this build does not implement yet.
pub fn run(step: StepName) -> Outcome {
    let what = match step {
        StepName::Schedule => "scheduled and idle shutdown are not part of this build yet",
        StepName::Updates => "security updates are not part of this build yet",
        StepName::Identity
        | StepName::Tune
        | StepName::Ddns
        | StepName::DnsWait
        | StepName::Secrets
        | StepName::Jitsi
        | StepName::Tls
        | StepName::Start => "this step has its own module",
    };
    Outcome::not_configured(what)
}
