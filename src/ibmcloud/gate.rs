//! One back-off gate per API. IBM throttles per user and per API; when one request is told to wait
//! (429, or 503 with `Retry-After`), every request to that API waits until the time IBM gave, not
//! only the one refused. An optional cap (`max_requests_per_second`) spaces requests out too.
//!
//! Waiting here is not a retry and happens before the HTTP request starts, so it never counts
//! against the per-request timeout. It ends early on cancellation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::wait::sleep_or_cancel;
use super::{Api, Error};

/// The gate of one API (one `endpoints` key, at one base URL, so a regional API is gated per region).
#[derive(Debug, Default)]
pub(crate) struct Gate {
    state: Mutex<GateState>,
    /// Smallest spacing between two requests; `None` when the rate is not capped.
    spacing: Option<Duration>,
}

#[derive(Debug, Default)]
struct GateState {
    /// No request may leave before this time (set from `Retry-After`).
    closed_until: Option<Instant>,
    /// With a rate cap: the earliest time the next request may leave.
    next_slot: Option<Instant>,
}

impl Gate {
    pub(crate) fn new(max_requests_per_second: Option<f64>) -> Gate {
        let spacing = max_requests_per_second.filter(|r| r.is_finite() && *r > 0.0).map(|r| Duration::from_secs_f64(1.0 / r));
        Gate { state: Mutex::new(GateState::default()), spacing }
    }

    /// Waits until a request may leave: after any `Retry-After` the API gave, and in its rate slot.
    pub(crate) async fn pass(&self, cancel: &CancellationToken) -> Result<(), Error> {
        loop {
            let now = Instant::now();
            let closed_until = self.lock().closed_until.filter(|t| *t > now);
            if let Some(until) = closed_until {
                sleep_or_cancel(cancel, until - now).await?;
                // The gate may have been closed again meanwhile: look again.
                continue;
            }
            let Some(spacing) = self.spacing else { return Ok(()) };
            let slot = {
                let mut state = self.lock();
                let slot = state.next_slot.filter(|t| *t > now).unwrap_or(now);
                state.next_slot = Some(slot + spacing);
                slot
            };
            sleep_or_cancel(cancel, slot - now).await?;
            // A Retry-After that came while this request waited for its slot still holds it back.
            if self.lock().closed_until.is_some_and(|t| t > Instant::now()) {
                continue;
            }
            return Ok(());
        }
    }

    /// Closes the gate for `delay` from now (never shortening an earlier, longer closure).
    pub(crate) fn close_for(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let mut state = self.lock();
        if state.closed_until.is_none_or(|t| t < until) {
            state.closed_until = Some(until);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        // The state is two instants, valid whatever a panicking holder did.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The gates of one client, created on first use.
#[derive(Debug)]
pub(crate) struct Gates {
    by_api: Mutex<HashMap<(Api, String), Arc<Gate>>>,
    max_requests_per_second: Option<f64>,
}

impl Gates {
    pub(crate) fn new(max_requests_per_second: Option<f64>) -> Gates {
        Gates { by_api: Mutex::new(HashMap::new()), max_requests_per_second }
    }

    /// The gate of `api` at `base` (the base URL carries the region of a regional API).
    pub(crate) fn of(&self, api: Api, base: &str) -> Arc<Gate> {
        let mut map = self.by_api.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry((api, base.to_owned())).or_insert_with(|| Arc::new(Gate::new(self.max_requests_per_second))).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_open_gate_lets_requests_through_at_once() {
        let gate = Gate::new(None);
        let started = Instant::now();
        gate.pass(&CancellationToken::new()).await.unwrap();
        assert_eq!(started.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn nobody_passes_a_closed_gate_before_its_time() {
        let gate = Arc::new(Gate::new(None));
        let started = Instant::now();
        gate.close_for(Duration::from_secs(2));
        let passed: Vec<_> = (0..20)
            .map(|_| {
                let gate = gate.clone();
                tokio::spawn(async move {
                    gate.pass(&CancellationToken::new()).await.unwrap();
                    Instant::now()
                })
            })
            .collect();
        // Closed again, longer, by a later 429 while the others wait.
        tokio::time::sleep(Duration::from_secs(1)).await;
        gate.close_for(Duration::from_secs(3));
        // A shorter Retry-After does not reopen it early.
        gate.close_for(Duration::from_millis(10));
        for task in passed {
            assert!(task.await.unwrap() - started >= Duration::from_secs(4));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_cap_spaces_requests() {
        let gate = Arc::new(Gate::new(Some(4.0)));
        let started = Instant::now();
        let mut times = Vec::new();
        for _ in 0..8 {
            gate.pass(&CancellationToken::new()).await.unwrap();
            times.push(Instant::now() - started);
        }
        for (i, t) in times.iter().enumerate() {
            assert_eq!(*t, Duration::from_millis(250) * i as u32, "request {i}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn cancellation_ends_the_wait() {
        let gate = Gate::new(None);
        gate.close_for(Duration::from_secs(30));
        let cancel = CancellationToken::new();
        let canceller = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            canceller.cancel();
        });
        let started = Instant::now();
        assert!(matches!(gate.pass(&cancel).await, Err(Error::Cancelled)));
        assert_eq!(started.elapsed(), Duration::from_secs(1));
    }

    #[test]
    fn one_gate_per_api_and_base() {
        let gates = Gates::new(None);
        let a = gates.of(Api::AppId, "https://us-east.appid.cloud.ibm.com");
        assert!(Arc::ptr_eq(&a, &gates.of(Api::AppId, "https://us-east.appid.cloud.ibm.com")));
        assert!(!Arc::ptr_eq(&a, &gates.of(Api::AppId, "https://eu-de.appid.cloud.ibm.com")));
        assert!(!Arc::ptr_eq(&gates.of(Api::Iam, "http://x"), &gates.of(Api::IamPolicy, "http://x")));
    }
}
