//! Shared emulator state.
//!
//! Objects of every emulated API live in one generic store: per kind (e.g. `"roles"`), a map from
//! id to a [`Record`] holding the object as JSON. This keeps the admin API and persistence generic,
//! so a new API module only picks a kind name and uses [`AppState::with_objects`].
//!
//! Runtime-only data (issued tokens, faults, counters, lag) is kept apart and never persisted.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::faults::{Chaos, Fault, FaultCounts};

/// One stored object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    pub value: Value,
    /// Starts at 1, bumped on every change.
    pub revision: u64,
    /// Without surrounding quotes, e.g. `3-0f1e...` (32 hex after the dash).
    pub etag: String,
    pub created_at_ms: u64,
    /// Reads through the emulated APIs do not see the object before this time (consistency lag).
    pub visible_at_ms: u64,
}

impl Record {
    pub fn is_visible(&self, now_ms: u64) -> bool {
        now_ms >= self.visible_at_ms
    }

    /// ETag as sent in HTTP headers (quoted).
    pub fn etag_header(&self) -> String {
        format!("\"{}\"", self.etag)
    }
}

pub fn new_etag(revision: u64) -> String {
    format!("{}-{}", revision, uuid::Uuid::new_v4().simple())
}

/// True when an `If-Match` value designates `etag`, ignoring surrounding quotes and a weak prefix.
pub fn etag_matches(if_match: &str, etag: &str) -> bool {
    if_match
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/").trim_matches('"') == etag.trim_matches('"'))
}

/// The persisted part of the state.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
pub struct Objects {
    pub kinds: BTreeMap<String, BTreeMap<String, Record>>,
}

/// A view of the objects for one locked operation. Tracks whether anything changed, so the
/// state file is rewritten only after real mutations.
pub struct Txn<'a> {
    objects: &'a mut Objects,
    now_ms: u64,
    lag_ms: u64,
    changed: bool,
}

impl<'a> Txn<'a> {
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Any record, visible or not (what the primary copy of a real service knows).
    pub fn get(&self, kind: &str, id: &str) -> Option<&Record> {
        self.objects.kinds.get(kind)?.get(id)
    }

    /// A record only if its consistency lag has passed (what a read replica would return).
    pub fn get_visible(&self, kind: &str, id: &str) -> Option<&Record> {
        self.get(kind, id).filter(|r| r.is_visible(self.now_ms))
    }

    pub fn iter_all(&self, kind: &str) -> impl Iterator<Item = (&String, &Record)> {
        self.objects.kinds.get(kind).into_iter().flatten()
    }

    pub fn iter_visible(&self, kind: &str) -> impl Iterator<Item = (&String, &Record)> {
        let now_ms = self.now_ms;
        self.iter_all(kind).filter(move |(_, r)| r.is_visible(now_ms))
    }

    /// Stores a new object; it becomes visible after the current lag. Replaces any same-id object.
    pub fn create(&mut self, kind: &str, id: &str, value: Value) -> Record {
        let record = Record { value, revision: 1, etag: new_etag(1), created_at_ms: self.now_ms, visible_at_ms: self.now_ms + self.lag_ms };
        self.objects.kinds.entry(kind.to_string()).or_default().insert(id.to_string(), record.clone());
        self.changed = true;
        record
    }

    /// Replaces an object's value, bumping revision and ETag. `None` if absent.
    pub fn update(&mut self, kind: &str, id: &str, value: Value) -> Option<Record> {
        let record = self.objects.kinds.get_mut(kind)?.get_mut(id)?;
        record.value = value;
        record.revision += 1;
        record.etag = new_etag(record.revision);
        self.changed = true;
        Some(record.clone())
    }

    /// Makes every stored object visible now, as when IBM's read replicas have caught up; the
    /// number of objects that were still hidden.
    pub fn reveal_all(&mut self) -> usize {
        let now_ms = self.now_ms;
        let hidden = self.objects.kinds.values_mut().flat_map(|records| records.values_mut()).filter(|r| !r.is_visible(now_ms));
        let revealed = hidden.map(|record| record.visible_at_ms = now_ms).count();
        self.changed |= revealed > 0;
        revealed
    }

    pub fn remove(&mut self, kind: &str, id: &str) -> Option<Record> {
        let kind_map = self.objects.kinds.get_mut(kind)?;
        let removed = kind_map.remove(id)?;
        if kind_map.is_empty() {
            self.objects.kinds.remove(kind);
        }
        self.changed = true;
        Some(removed)
    }

    /// Stores a record verbatim (admin seeding).
    pub fn put_record(&mut self, kind: &str, id: &str, record: Record) {
        self.objects.kinds.entry(kind.to_string()).or_default().insert(id.to_string(), record);
        self.changed = true;
    }

    pub fn kind_names(&self) -> Vec<String> {
        self.objects.kinds.keys().cloned().collect()
    }
}

/// An access token issued by `POST /identity/token`.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub iam_id: String,
    pub account_id: String,
    pub expires_at_s: i64,
}

/// Not persisted: lives as long as the process.
#[derive(Debug, Default)]
pub struct Runtime {
    pub lag_ms: u64,
    pub faults: VecDeque<Fault>,
    /// Random faults, while chaos mode is on.
    pub chaos: Option<Chaos>,
    pub fault_counts: FaultCounts,
    pub request_counts: BTreeMap<String, u64>,
    pub request_total: u64,
    pub tokens: HashMap<String, IssuedToken>,
    pub traffic: super::traffic::Traffic,
    /// Every credential a client sent or was issued, by kind (`api_key`, `access_token`,
    /// `refresh_token`, `password`), so that a test can search its outputs for each of them.
    pub credentials_seen: BTreeMap<&'static str, BTreeSet<String>>,
}

impl Runtime {
    /// Remembers a credential for [`Runtime::credentials_seen`]; empty ones are not credentials.
    pub fn saw_credential(&mut self, kind: &'static str, value: &str) {
        if !value.is_empty() {
            self.credentials_seen.entry(kind).or_default().insert(value.to_string());
        }
    }
}

/// Fixed settings of one emulator process.
#[derive(Debug, Clone)]
pub struct Settings {
    pub base_url: String,
    pub account_id: String,
    pub api_keys: Vec<String>,
    pub token_lifetime_secs: u64,
    pub state_file: Option<PathBuf>,
    /// How long a reclaimed reclamation stays `RECLAIMING` before its instance is removed.
    pub reclaim_ms: u64,
}

struct Shared {
    settings: Settings,
    objects: Mutex<Objects>,
    runtime: Mutex<Runtime>,
}

/// Cheap to clone; handed to every handler.
#[derive(Clone)]
pub struct AppState {
    shared: Arc<Shared>,
}

impl AppState {
    /// Loads `settings.state_file` when it exists.
    pub fn new(settings: Settings, initial_lag_ms: u64) -> io::Result<Self> {
        let objects = match &settings.state_file {
            Some(path) if path.exists() => load_objects(path)?,
            _ => Objects::default(),
        };
        let runtime = Runtime { lag_ms: initial_lag_ms, ..Runtime::default() };
        Ok(AppState { shared: Arc::new(Shared { settings, objects: Mutex::new(objects), runtime: Mutex::new(runtime) }) })
    }

    pub fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    pub fn base_url(&self) -> &str {
        &self.shared.settings.base_url
    }

    pub fn account_id(&self) -> &str {
        &self.shared.settings.account_id
    }

    /// Runs `f` with the objects locked; writes the state file afterwards if `f` changed anything.
    pub fn with_objects<R>(&self, f: impl FnOnce(&mut Txn<'_>) -> R) -> R {
        let lag_ms = self.runtime().lag_ms;
        let mut objects = lock(&self.shared.objects);
        let mut txn = Txn { objects: &mut objects, now_ms: now_ms(), lag_ms, changed: false };
        let result = f(&mut txn);
        if txn.changed {
            if let Some(path) = &self.shared.settings.state_file {
                // The emulator keeps serving from memory; a failed write is only reported.
                if let Err(err) = save_objects(path, &objects) {
                    log::error!("could not write state file {}: {err}", path.display());
                }
            }
        }
        result
    }

    /// Copy of all objects (admin API, tests).
    pub fn snapshot(&self) -> Objects {
        lock(&self.shared.objects).clone()
    }

    pub fn runtime(&self) -> MutexGuard<'_, Runtime> {
        lock(&self.shared.runtime)
    }
}

/// A poisoned lock only means another handler panicked; the data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// IBM-style UTC timestamp with milliseconds, e.g. `2024-05-01T12:00:00.123Z`.
pub fn iso_timestamp(epoch_ms: u64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(epoch_ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    format_version: u32,
    #[serde(flatten)]
    objects: Objects,
}

const STATE_FORMAT_VERSION: u32 = 1;

fn load_objects(path: &Path) -> io::Result<Objects> {
    let text = std::fs::read_to_string(path)?;
    let file: StateFile =
        serde_json::from_str(&text).map_err(|err| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {err}", path.display())))?;
    Ok(file.objects)
}

/// Temp file in the same directory + rename, so a crash never leaves a half-written state.
fn save_objects(path: &Path, objects: &Objects) -> io::Result<()> {
    let file = StateFile { format_version: STATE_FORMAT_VERSION, objects: objects.clone() };
    let text = serde_json::to_string_pretty(&file).map_err(io::Error::other)?;
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(state_file: Option<PathBuf>) -> Settings {
        Settings {
            base_url: "http://127.0.0.1:1".into(),
            account_id: "acc".into(),
            api_keys: vec![],
            token_lifetime_secs: 3600,
            state_file,
            reclaim_ms: 0,
        }
    }

    #[test]
    fn timestamps_have_milliseconds() {
        assert_eq!(iso_timestamp(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn etag_comparison_ignores_quotes() {
        assert!(etag_matches("\"1-abc\"", "1-abc"));
        assert!(etag_matches("1-abc", "1-abc"));
        assert!(etag_matches("W/\"1-abc\"", "1-abc"));
        assert!(etag_matches("*", "1-abc"));
        assert!(!etag_matches("\"2-abc\"", "1-abc"));
    }

    #[test]
    fn update_bumps_revision_and_etag() {
        let state = AppState::new(settings(None), 0).unwrap();
        let created = state.with_objects(|tx| tx.create("things", "a", json!({"x": 1})));
        let updated = state.with_objects(|tx| tx.update("things", "a", json!({"x": 2}))).unwrap();
        assert_eq!(updated.revision, 2);
        assert!(updated.etag.starts_with("2-"));
        assert_ne!(created.etag, updated.etag);
        assert!(state.with_objects(|tx| tx.update("things", "missing", json!({}))).is_none());
    }

    #[test]
    fn lag_hides_new_objects() {
        let state = AppState::new(settings(None), 60_000).unwrap();
        state.with_objects(|tx| tx.create("things", "a", json!({})));
        state.with_objects(|tx| {
            assert!(tx.get("things", "a").is_some());
            assert!(tx.get_visible("things", "a").is_none());
            assert_eq!(tx.iter_visible("things").count(), 0);
        });
        state.runtime().lag_ms = 0;
        state.with_objects(|tx| tx.create("things", "b", json!({})));
        state.with_objects(|tx| assert_eq!(tx.iter_visible("things").count(), 1));
        assert_eq!(state.with_objects(|tx| tx.reveal_all()), 1, "a was still hidden");
        state.with_objects(|tx| assert_eq!(tx.iter_visible("things").count(), 2));
    }

    #[test]
    fn state_file_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let first = AppState::new(settings(Some(path.clone())), 0).unwrap();
        first.with_objects(|tx| tx.create("things", "a", json!({"x": 1})));
        assert!(path.exists());
        let second = AppState::new(settings(Some(path)), 0).unwrap();
        assert_eq!(first.snapshot(), second.snapshot());
        // Only the state file itself remains: the temp file was renamed.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
