//! Objects made by a create that then failed, most often while waiting for the cloud to show the
//! new object (a timeout, or Ctrl-C). Terraform keeps such an object in state, tainted, with the
//! private data the create returned; here that private data records when the object was made.
//!
//! Until the object has been read once, or [`WINDOW`] has passed since it was made, a read that
//! does not find it means "not shown yet", not "deleted": the refresh reads it again until it
//! shows, instead of dropping it and planning a second object beside it. Only such objects wait:
//! a read of any other object that is not found reports it gone at once, so drift is seen at
//! once. The wait happens in the refresh because Terraform hands the private data to reads but
//! not to the delete that replaces a tainted object (seen on 1.0.3 and 1.15.5), and a delete
//! of an object that does not show yet would delete nothing and leave it behind.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::registry::AnyResource;
use super::{Ctx, Diagnostics, Value};

/// How long after its create an unseen object may still be on its way. IBM's own provider
/// retries reads of a new policy or resource group on 404 for up to five minutes.
pub const WINDOW: Duration = Duration::from_secs(300);

/// Between two reads while a refresh waits for the object to show.
const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// The resource's private data: JSON, so that later fields can be added beside this one.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Private {
    /// When the object was made (Unix milliseconds), while no read has found it yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unconfirmed_since_ms: Option<u64>,
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The private data of an object a failed create made at `made_at`.
pub fn mark(made_at: SystemTime) -> Vec<u8> {
    serde_json::to_vec(&Private { unconfirmed_since_ms: Some(unix_ms(made_at)) }).unwrap_or_default()
}

/// How much of the window is left for an object whose private data is `private`; None when it
/// is not marked (it was seen, or was never in doubt) or its window has passed. Private data
/// this version cannot read (another provider's, or none) is never in doubt.
pub fn time_left(private: &[u8], now: SystemTime) -> Option<Duration> {
    let since = serde_json::from_slice::<Private>(private).ok()?.unconfirmed_since_ms?;
    let elapsed = Duration::from_millis(unix_ms(now).saturating_sub(since));
    WINDOW.checked_sub(elapsed).filter(|left| !left.is_zero())
}

/// The private data once a read has found the object: without the mark, which is all ours holds
/// (so nothing is left); private data that is not ours passes through unchanged.
pub fn seen(private: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<Private>(private) {
        Ok(_) => Vec::new(),
        Err(_) => private.to_vec(),
    }
}

/// Reads an object a failed create made, which a first read did not find: again and again until
/// it shows (its state), or until `left` has passed (None: it never showed, so it is gone). When
/// Terraform cancels (Ctrl-C), the error says so, and the caller keeps the object.
pub async fn wait_until_shown<S: Send + Sync>(
    resource: &dyn AnyResource<S>,
    ctx: &Ctx<S>,
    state: &Value,
    left: Duration,
) -> Result<Option<Value>, Diagnostics> {
    let deadline = tokio::time::Instant::now() + left;
    loop {
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        tokio::select! {
            () = ctx.cancel.cancelled() => {
                let mut d = Diagnostics::new();
                d.add_warning(
                    format!("{}: not shown by IBM Cloud yet", resource.type_name()),
                    format!(
                        "Interrupted while waiting for IBM Cloud to show an object made by a create that did not finish. It stays in state; the next refresh waits for it again, for up to {} s more.",
                        deadline.saturating_duration_since(now).as_secs()
                    ),
                );
                return Err(d);
            }
            () = tokio::time::sleep(POLL_INTERVAL.min(deadline - now)) => {}
        }
        if let Some(shown) = resource.read(ctx, state).await? {
            return Ok(Some(shown));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use async_trait::async_trait;
    use serde::{Deserialize, Serialize};
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::framework::{resource, Attribute, Block, OpResult, Resource, Schema, Tf};

    /// An object that reads as missing `hidden_reads` times, then shows.
    struct ShowsLate {
        hidden_reads: u32,
        reads: AtomicU32,
    }

    #[derive(Serialize, Deserialize, Clone, Debug)]
    struct Model {
        id: Tf<String>,
    }

    #[async_trait]
    impl Resource<()> for ShowsLate {
        type Model = Model;
        const TYPE_NAME: &'static str = "test_shows_late";
        fn schema() -> Schema {
            Schema::new(0, Block::new("t").attr(Attribute::string("id").computed()))
        }
        async fn create(&self, _ctx: &Ctx<()>, planned: Model, _config: Model) -> OpResult<Model> {
            Ok(planned)
        }
        async fn read(&self, _ctx: &Ctx<()>, state: Model) -> OpResult<Option<Model>> {
            let n = self.reads.fetch_add(1, Ordering::SeqCst);
            Ok((n >= self.hidden_reads).then_some(state))
        }
        async fn update(&self, _ctx: &Ctx<()>, _prior: Model, planned: Model, _config: Model) -> OpResult<Model> {
            Ok(planned)
        }
        async fn delete(&self, _ctx: &Ctx<()>, _prior: Model) -> OpResult<()> {
            Ok(())
        }
    }

    fn object(hidden_reads: u32) -> (std::sync::Arc<dyn AnyResource<()>>, Value) {
        let registered = resource(ShowsLate { hidden_reads, reads: AtomicU32::new(0) });
        let state = Value::from_json(&serde_json::json!({"id": "late-1"}), registered.value_type()).expect("state");
        (registered, state)
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_object_is_read_until_it_shows() {
        let (late, state) = object(2);
        let ctx = Ctx::new(None, CancellationToken::new());
        let started = tokio::time::Instant::now();
        let shown = wait_until_shown(late.as_ref(), &ctx, &state, WINDOW).await.expect("no error");
        assert_eq!(shown, Some(state));
        // The caller's read missed it first; then a pause before each read: two miss, one finds.
        assert_eq!(started.elapsed(), 3 * POLL_INTERVAL);
    }

    #[tokio::test(start_paused = true)]
    async fn an_object_that_never_shows_is_gone_when_the_window_ends() {
        let (never, state) = object(u32::MAX);
        let ctx = Ctx::new(None, CancellationToken::new());
        let started = tokio::time::Instant::now();
        let left = Duration::from_secs(7);
        assert_eq!(wait_until_shown(never.as_ref(), &ctx, &state, left).await.expect("no error"), None);
        assert_eq!(started.elapsed(), left, "waits out what is left of the window, no more");
    }

    #[tokio::test(start_paused = true)]
    async fn ctrl_c_stops_the_wait_and_keeps_the_object() {
        let (never, state) = object(u32::MAX);
        let ctx = Ctx::new(None, CancellationToken::new());
        let cancel = ctx.cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            cancel.cancel();
        });
        let started = tokio::time::Instant::now();
        let kept = wait_until_shown(never.as_ref(), &ctx, &state, WINDOW).await.expect_err("interrupted");
        assert_eq!(started.elapsed(), Duration::from_secs(5));
        assert!(!kept.has_errors(), "a warning: the object stays in state");
    }

    #[test]
    fn a_mark_holds_for_the_window_then_lapses() {
        let made = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let private = mark(made);
        assert_eq!(time_left(&private, made), Some(WINDOW));
        assert_eq!(time_left(&private, made + Duration::from_secs(60)), Some(WINDOW - Duration::from_secs(60)));
        assert_eq!(time_left(&private, made + WINDOW), None);
        // A clock that went back counts as no time passed, never as more than the window.
        assert_eq!(time_left(&private, made - Duration::from_secs(5)), Some(WINDOW));
    }

    #[test]
    fn unmarked_or_foreign_private_data_is_never_in_doubt() {
        let now = SystemTime::now();
        assert_eq!(time_left(b"", now), None);
        assert_eq!(time_left(b"{}", now), None);
        assert_eq!(time_left(b"\x00\xffbinary", now), None);
        assert_eq!(time_left(br#"{"unconfirmed_since_ms":"soon"}"#, now), None);
    }

    #[test]
    fn a_read_that_finds_the_object_clears_the_mark() {
        let private = mark(SystemTime::now());
        assert!(seen(&private).is_empty());
        assert_eq!(seen(b"not ours"), b"not ours");
    }
}
