//! The scaling signal: the bridge's `stress_level` published to CloudWatch, at most once a
//! minute, with the Auto Scaling group as dimension, so a target-tracking policy on the
//! group's average can add and remove bridges.
//!
//! When the bridge's stats cannot be read nothing is sent (a missing point is better than
//! a made-up one: target tracking treats missing data as "no change"), and the outcome
//! carries the reason for status.
//!
//! A recorder publishes its busy state the same way (1 or 0; [`Settings::recorders`]).
//!
//! Wiring passes in: the [`Workload`] (the bridge, or jibri), the [`Aws`] client, the group name (from IMDS tags),
//! and [`Settings`] (namespace and metric name must match the CloudFormation scaling
//! policy's customized metric).

use super::workload::Workload;
use crate::aws::api::{Aws, Metric};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the metric goes and how often.
#[derive(Debug, Clone)]
pub struct Settings {
    /// CloudWatch namespace.
    pub namespace: String,
    /// Metric name.
    pub metric: String,
    /// Least time between two `PutMetricData` requests.
    pub every: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            namespace: "RyoJitsi".into(),
            metric: "StressLevel".into(),
            every: Duration::from_secs(60),
        }
    }
}

impl Settings {
    /// A recorder's: `RyoJitsi/RecorderBusy`, 1 while recording, summed over the group by
    /// the template's alarms (docs/aws/scale-out.yaml) to keep idle recorders ready.
    pub fn recorders() -> Self {
        Self {
            metric: "RecorderBusy".into(),
            ..Self::default()
        }
    }
}

/// The dimension naming the group, as the scaling policy's metric specifies it.
pub const GROUP_DIMENSION: &str = "AutoScalingGroupName";

/// What one tick did, for status.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The last request was less than [`Settings::every`] ago.
    NotDue {
        /// Until the next one may go.
        next_in: Duration,
    },
    /// CloudWatch accepted the value.
    Sent {
        /// The metric's name.
        metric: String,
        /// The value sent.
        value: f64,
    },
    /// No request: the bridge's stats (jibri's health) could not be read.
    Skipped {
        /// Why, in one sentence.
        reason: String,
    },
    /// The request was sent and failed.
    Failed {
        /// Why, in one sentence.
        reason: String,
    },
}

impl Outcome {
    /// One line for status.
    pub fn status(&self) -> String {
        match self {
            Outcome::NotDue { next_in } => format!("next report in {}s", next_in.as_secs()),
            Outcome::Sent { metric, value } if metric == "StressLevel" => {
                format!("stress level {value} reported to CloudWatch")
            }
            Outcome::Sent { metric, value } => format!("{metric} {value} reported to CloudWatch"),
            Outcome::Skipped { reason } => format!("no report: {reason}"),
            Outcome::Failed { reason } => format!("report failed: {reason}"),
        }
    }
}

/// Reads the workload's signal and publishes it.
pub struct Publisher<W> {
    workload: W,
    aws: Arc<Aws>,
    group: String,
    settings: Settings,
    last_request: Option<Instant>,
}

impl<W: Workload> Publisher<W> {
    /// A publisher for `group`.
    pub fn new(workload: W, aws: Arc<Aws>, group: &str, settings: Settings) -> Self {
        Self {
            workload,
            aws,
            group: group.to_string(),
            settings,
            last_request: None,
        }
    }

    /// Does what is due at `now`: nothing before [`Settings::every`] has passed since the
    /// last request, else read the signal and send it.
    pub async fn tick(&mut self, now: Instant) -> Outcome {
        if let Some(last) = self.last_request {
            let since = now.saturating_duration_since(last);
            // Not yet due: what is left of the interval (none left means due now).
            if let Some(next_in) = self
                .settings
                .every
                .checked_sub(since)
                .filter(|d| !d.is_zero())
            {
                return Outcome::NotDue { next_in };
            }
        }
        let value = match self.workload.signal().await {
            Ok(value) => value,
            Err(reason) => return Outcome::Skipped { reason },
        };
        // Counted from the attempt, successful or not, so a failing endpoint is not hammered.
        self.last_request = Some(now);
        let dimensions = [(GROUP_DIMENSION, self.group.as_str())];
        let metric = Metric {
            namespace: &self.settings.namespace,
            name: &self.settings.metric,
            dimensions: &dimensions,
            value,
        };
        match self.aws.put_metric_data(&metric).await {
            Ok(()) => Outcome::Sent {
                metric: self.settings.metric.clone(),
                value,
            },
            Err(e) => Outcome::Failed {
                reason: e.to_string(),
            },
        }
    }

    /// Ticks every `poll` for ever, handing each outcome to `report` (status, logs).
    pub async fn run(mut self, poll: Duration, mut report: impl FnMut(&Outcome)) {
        loop {
            let outcome = self.tick(Instant::now()).await;
            report(&outcome);
            tokio::time::sleep(poll).await;
        }
    }
}
