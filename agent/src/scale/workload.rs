//! What a machine of an Auto Scaling group works on, as the scaling service sees it: the
//! value it publishes for the group's scaling policy, the work in progress a scale-in
//! waits for, and how it stops taking new work. A videobridge's work is conferences
//! (its stress level is the signal); a recorder's (jibri's) is the one recording it may
//! be making (busy is the signal: 1 or 0, summed over the group).

use crate::jitsi::jibri_api::Jibri;
use crate::jitsi::videobridge_api::Bridge;
use std::future::Future;

/// A machine's work, for the metric publisher and the scale-in drain.
pub trait Workload: Send + Sync {
    /// The value published to CloudWatch (an error: nothing is sent, and why).
    fn signal(&self) -> impl Future<Output = Result<f64, String>> + Send;
    /// Work in progress (conferences; recordings), `None` when it cannot be read (the
    /// service is gone, or not up yet).
    fn in_progress(&self) -> impl Future<Output = Option<u64>> + Send;
    /// Takes no new work and ends once idle (both upstream services exit by themselves).
    fn stop_taking_work(&self) -> impl Future<Output = Result<(), String>> + Send;
}

impl Workload for Bridge {
    async fn signal(&self) -> Result<f64, String> {
        let stats = self.stats().await.map_err(|e| e.to_string())?;
        if stats.stress_level.is_finite() {
            Ok(stats.stress_level)
        } else {
            Err(format!(
                "the videobridge reports stress_level {}",
                stats.stress_level
            ))
        }
    }

    async fn in_progress(&self) -> Option<u64> {
        self.stats().await.ok().map(|s| s.conferences)
    }

    async fn stop_taking_work(&self) -> Result<(), String> {
        self.graceful_shutdown().await.map_err(|e| e.to_string())
    }
}

impl Workload for Jibri {
    async fn signal(&self) -> Result<f64, String> {
        let health = self.health().await?;
        Ok(if health.busy == "busy" { 1.0 } else { 0.0 })
    }

    async fn in_progress(&self) -> Option<u64> {
        self.health()
            .await
            .ok()
            .map(|h| u64::from(h.busy == "busy"))
    }

    async fn stop_taking_work(&self) -> Result<(), String> {
        self.graceful_shutdown().await
    }
}
