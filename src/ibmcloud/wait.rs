//! Polling for eventual consistency and asynchronous operations.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Error;

const POLL_START: Duration = Duration::from_millis(250);
const POLL_CAP: Duration = Duration::from_secs(10);

/// What one poll found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll<T> {
    /// Done; `poll_until` returns this value.
    Ready(T),
    /// Not yet; the text (e.g. the current state, "provisioning") goes into the timeout message.
    Pending(String),
}

/// Calls `f` until it reports `Ready`: first at once, then after 250 ms, doubling up to 10 s
/// between polls, until `timeout` has passed. An `Err` from `f` ends the wait with that error.
pub async fn poll_until<T, F, Fut>(cancel: &CancellationToken, timeout: Duration, what: &str, mut f: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, Error>>,
{
    // A huge timeout must not overflow the clock: a year is as good as forever here.
    let deadline = Instant::now().checked_add(timeout).unwrap_or_else(|| Instant::now() + Duration::from_secs(365 * 86_400));
    let mut delay = POLL_START;
    loop {
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let state = tokio::select! {
            _ = cancel.cancelled() => return Err(Error::Cancelled),
            r = f() => r?,
        };
        let pending = match state {
            Poll::Ready(v) => return Ok(v),
            Poll::Pending(p) => p,
        };
        let now = Instant::now();
        if now >= deadline {
            let state = if pending.is_empty() { "pending".to_owned() } else { pending };
            return Err(Error::WaitTimeout(format!("{what}: still {state} after {timeout:?}")));
        }
        // Never sleep past the deadline, so the last poll happens right at it.
        sleep_or_cancel(cancel, delay.min(deadline - now)).await?;
        delay = (delay * 2).min(POLL_CAP);
    }
}

/// Sleeps, unless cancelled first.
pub(crate) async fn sleep_or_cancel(cancel: &CancellationToken, d: Duration) -> Result<(), Error> {
    if d.is_zero() {
        return if cancel.is_cancelled() { Err(Error::Cancelled) } else { Ok(()) };
    }
    tokio::select! {
        _ = cancel.cancelled() => Err(Error::Cancelled),
        _ = tokio::time::sleep(d) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn first_poll_is_immediate_and_ready_returns() {
        let cancel = CancellationToken::new();
        let started = std::time::Instant::now();
        let v = poll_until(&cancel, Duration::from_secs(5), "x", || async { Ok(Poll::Ready(7)) }).await.unwrap();
        assert_eq!(v, 7);
        assert!(started.elapsed() < Duration::from_millis(100));
    }

    #[tokio::test]
    async fn polls_until_ready_with_growing_delays() {
        let cancel = CancellationToken::new();
        let calls = AtomicU32::new(0);
        let started = std::time::Instant::now();
        let v = poll_until(&cancel, Duration::from_secs(5), "instance", || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move { Ok(if n < 2 { Poll::Pending("provisioning".into()) } else { Poll::Ready(n) }) }
        })
        .await
        .unwrap();
        assert_eq!(v, 2);
        // 250 ms + 500 ms of sleeping.
        let e = started.elapsed();
        assert!(e >= Duration::from_millis(700) && e < Duration::from_secs(3), "{e:?}");
    }

    #[tokio::test]
    async fn times_out_with_state_in_message() {
        let cancel = CancellationToken::new();
        let err = poll_until::<(), _, _>(&cancel, Duration::from_millis(300), "instance qr1", || async {
            Ok(Poll::Pending("provisioning".into()))
        })
        .await
        .unwrap_err();
        assert_eq!(err.to_string(), "instance qr1: still provisioning after 300ms");
    }

    #[tokio::test]
    async fn errors_end_the_wait_and_cancel_is_honoured() {
        let cancel = CancellationToken::new();
        let err = poll_until::<(), _, _>(&cancel, Duration::from_secs(5), "x", || async { Err(Error::Timeout) }).await.unwrap_err();
        assert!(matches!(err, Error::Timeout));

        let c2 = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            c2.cancel();
        });
        let err =
            poll_until::<(), _, _>(&cancel, Duration::from_secs(60), "x", || async { Ok(Poll::Pending(String::new())) }).await.unwrap_err();
        assert!(matches!(err, Error::Cancelled));
    }
}
