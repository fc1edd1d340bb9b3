//! Request counting and fault injection, applied to every emulated IBM API route.
//!
//! Two sources of faults, both counted in [`FaultCounts`]:
//! * a queue of fixed answers ([`Fault`], `POST /_emulator/faults`);
//! * a seeded random "chaos" mode ([`Chaos`], `--chaos-*` flags or `PUT /_emulator/chaos`): a
//!   fraction of requests gets a throttle, a 500 or 503, a dropped connection before or after the
//!   request is acted on, a stall, or an ETag race. The same seed and the same sequence of
//!   requests give the same faults, so a failing run can be repeated.
//!
//! Routes are identified by a key `"METHOD /route/template"`, e.g. `"GET /v2/roles/{id}"`, so
//! tests can target one operation regardless of ids in the URL.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::io;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, RawPathParams, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::RequestExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::errors::{default_code_for_status, ApiError};
use super::iam_token::TOKEN_ROUTE_KEY;
use super::state::{iso_timestamp, AppState};
use super::{access_groups, iam_identity, iam_idps, iam_policies, iam_roles};

/// A queued fault: the next `remaining` requests matching `route` get `status` instead of service.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Fault {
    /// Route key; `None` matches every emulated route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    pub status: u16,
    pub remaining: u32,
    /// This many matching requests are served first, untouched: "every create after the first".
    #[serde(default, skip_serializing_if = "is_zero")]
    pub after: u32,
    /// A chaos kind to apply instead of answering `status` (e.g. `reset_after`), with chaos'
    /// default settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<FaultKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<String>,
    /// Error `code` for the body; defaults from the status (e.g. 429 → `too_many_requests`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Fault {
    fn matches(&self, route_key: &str) -> bool {
        self.route.as_deref().is_none_or(|route| route == route_key)
    }

    /// A one-off error answer, as chaos mode gives it.
    fn answer(status: u16, retry_after_seconds: Option<u64>, message: &str) -> Fault {
        Fault {
            route: None,
            status,
            remaining: 0,
            after: 0,
            kind: None,
            retry_after: retry_after_seconds.map(|seconds| seconds.to_string()),
            code: None,
            message: Some(message.to_string()),
        }
    }
}

/// What chaos mode can do to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// 429 with `Retry-After`.
    Throttle,
    Error500,
    /// 503, with `Retry-After` when the settings ask for it.
    Error503,
    /// The connection is dropped before the request is acted on: nothing changes.
    ResetBefore,
    /// The request is acted on, then the connection is dropped: the change is made, the answer lost.
    ResetAfter,
    /// The request waits, then is acted on, even if the client has given up meanwhile.
    Stall,
    /// Another writer changes the target object just before an `If-Match` write, so it fails as stale.
    EtagRace,
}

impl FaultKind {
    pub const ALL: [FaultKind; 7] = [
        FaultKind::Throttle,
        FaultKind::Error500,
        FaultKind::Error503,
        FaultKind::ResetBefore,
        FaultKind::ResetAfter,
        FaultKind::Stall,
        FaultKind::EtagRace,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Throttle => "throttle",
            FaultKind::Error500 => "error500",
            FaultKind::Error503 => "error503",
            FaultKind::ResetBefore => "reset_before",
            FaultKind::ResetAfter => "reset_after",
            FaultKind::Stall => "stall",
            FaultKind::EtagRace => "etag_race",
        }
    }

    pub fn from_name(name: &str) -> Result<FaultKind, String> {
        FaultKind::ALL.into_iter().find(|kind| kind.name() == name).ok_or_else(|| {
            let known: Vec<&str> = FaultKind::ALL.iter().map(|kind| kind.name()).collect();
            format!("unknown fault kind '{name}': one of {}", known.join(", "))
        })
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

pub const DEFAULT_CHAOS_RETRY_AFTER_SECONDS: u64 = 1;
pub const DEFAULT_STALL_MS: u64 = 2_000;
/// A stall longer than this is surely a mistake, and would hold a test for as long.
const MAX_STALL_MS: u64 = 600_000;

/// The settings of chaos mode, as `PUT /_emulator/chaos` takes them and `GET` shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Value")]
pub struct ChaosSettings {
    pub seed: u64,
    /// Share of the requests chaos applies to that get a fault, 0.0–1.0.
    pub fraction: f64,
    /// The enabled kinds and their relative weights.
    pub kinds: BTreeMap<FaultKind, f64>,
    /// Route keys chaos applies to; `None` means every emulated IBM route.
    pub routes: Option<Vec<String>>,
    /// The token route (`POST /identity/token`) is spared unless this is set or `routes` names it.
    pub include_token_route: bool,
    /// The `Retry-After` of throttles (and of 503s when `error503_retry_after`).
    pub retry_after_seconds: u64,
    pub error503_retry_after: bool,
    pub stall_ms: u64,
}

impl ChaosSettings {
    /// Every kind with weight 1, on every route but the token route.
    pub fn new(seed: u64, fraction: f64) -> ChaosSettings {
        ChaosSettings {
            seed,
            fraction,
            kinds: FaultKind::ALL.into_iter().map(|kind| (kind, 1.0)).collect(),
            routes: None,
            include_token_route: false,
            retry_after_seconds: DEFAULT_CHAOS_RETRY_AFTER_SECONDS,
            error503_retry_after: false,
            stall_ms: DEFAULT_STALL_MS,
        }
    }

    /// Checks the ranges that the types cannot.
    pub fn validated(self) -> Result<ChaosSettings, String> {
        if !(self.fraction.is_finite() && (0.0..=1.0).contains(&self.fraction)) {
            return Err(format!("'fraction' must be a number from 0 to 1, not {}", self.fraction));
        }
        if let Some((kind, weight)) = self.kinds.iter().find(|(_, weight)| !(weight.is_finite() && **weight >= 0.0)) {
            return Err(format!("the weight of '{kind}' must be a non-negative number, not {weight}"));
        }
        if !self.kinds.values().any(|weight| *weight > 0.0) {
            return Err("'kinds' must enable at least one fault kind".to_string());
        }
        if self.routes.as_ref().is_some_and(|routes| routes.iter().any(|route| !route.contains(" /"))) {
            return Err("'routes' must hold route keys such as \"POST /v2/groups\"".to_string());
        }
        if self.stall_ms > MAX_STALL_MS {
            return Err(format!("'stall_ms' must be at most {MAX_STALL_MS}"));
        }
        Ok(self)
    }

    fn applies_to(&self, route_key: &str) -> bool {
        let listed = self.routes.as_ref().map(|routes| routes.iter().any(|route| route == route_key));
        if route_key == TOKEN_ROUTE_KEY {
            // Most faults on the token route test only the client's token cache; off unless asked.
            return listed == Some(true) || (self.include_token_route && listed.is_none());
        }
        listed.unwrap_or(true)
    }
}

/// `kinds` as a list of names (weight 1 each) or an object of name → weight.
pub fn parse_kinds(kinds: &Value) -> Result<BTreeMap<FaultKind, f64>, String> {
    match kinds {
        Value::Array(names) => names
            .iter()
            .map(|name| {
                let name = name.as_str().ok_or("'kinds' must list fault kind names")?;
                Ok((FaultKind::from_name(name)?, 1.0))
            })
            .collect(),
        Value::Object(weights) => weights
            .iter()
            .map(|(name, weight)| {
                let weight = weight.as_f64().ok_or_else(|| format!("the weight of '{name}' must be a number"))?;
                Ok((FaultKind::from_name(name)?, weight))
            })
            .collect(),
        _ => Err("'kinds' must be a list of fault kinds or an object of kind → weight".to_string()),
    }
}

/// The command line's form of `kinds`: `throttle,reset_after=2` (a kind without `=` weighs 1).
pub fn parse_kinds_flag(text: &str) -> Result<BTreeMap<FaultKind, f64>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            let (name, weight) = item.split_once('=').unwrap_or((item, "1"));
            let weight: f64 = weight.trim().parse().map_err(|_| format!("the weight of '{name}' must be a number"))?;
            Ok((FaultKind::from_name(name.trim())?, weight))
        })
        .collect()
}

impl TryFrom<Value> for ChaosSettings {
    type Error = String;

    fn try_from(body: Value) -> Result<ChaosSettings, String> {
        const FIELDS: [&str; 8] =
            ["seed", "fraction", "kinds", "routes", "include_token_route", "retry_after_seconds", "error503_retry_after", "stall_ms"];
        let fields = body.as_object().ok_or("the chaos settings must be a JSON object")?;
        if let Some(unknown) = fields.keys().find(|name| !FIELDS.contains(&name.as_str())) {
            return Err(format!("unknown field '{unknown}': the fields are {}", FIELDS.join(", ")));
        }
        let present = |name: &str| fields.get(name).filter(|value| !value.is_null());
        let whole_number = |name: &str, default: u64| match present(name) {
            None => Ok(default),
            Some(value) => value.as_u64().ok_or_else(|| format!("'{name}' must be a non-negative whole number")),
        };
        let flag = |name: &str| match present(name) {
            None => Ok(false),
            Some(value) => value.as_bool().ok_or_else(|| format!("'{name}' must be true or false")),
        };
        let seed = present("seed").ok_or("'seed' is required, so that the run can be repeated")?;
        let seed = seed.as_u64().ok_or("'seed' must be a non-negative whole number below 2^64")?;
        let fraction = present("fraction").and_then(Value::as_f64).ok_or("'fraction' must be a number from 0 to 1")?;
        let mut settings = ChaosSettings::new(seed, fraction);
        if let Some(kinds) = present("kinds") {
            settings.kinds = parse_kinds(kinds)?;
        }
        if let Some(routes) = present("routes") {
            let routes = routes.as_array().ok_or("'routes' must be a list of route keys")?;
            let keys = routes.iter().map(|route| route.as_str().map(str::to_string).ok_or("'routes' must be a list of route keys"));
            settings.routes = Some(keys.collect::<Result<_, _>>()?);
        }
        settings.include_token_route = flag("include_token_route")?;
        settings.error503_retry_after = flag("error503_retry_after")?;
        settings.retry_after_seconds = whole_number("retry_after_seconds", DEFAULT_CHAOS_RETRY_AFTER_SECONDS)?;
        settings.stall_ms = whole_number("stall_ms", DEFAULT_STALL_MS)?;
        settings.validated()
    }
}

/// Chaos mode while it is on: its settings and the random sequence they seeded.
#[derive(Debug, Clone)]
pub struct Chaos {
    pub settings: ChaosSettings,
    rng: StdRng,
    /// The object (`kind/id`) the last If-Match write to which was raced: the other writer
    /// strikes an object once between two of the client's writes. A writer racing every retry
    /// is another scenario, tested with queued `etag_race` faults.
    last_raced: Option<String>,
}

impl Chaos {
    pub fn new(settings: ChaosSettings) -> Chaos {
        let rng = StdRng::seed_from_u64(settings.seed);
        Chaos { settings, rng, last_raced: None }
    }

    /// The fault for the next request, if any. Every request chaos applies to draws the same two
    /// numbers whatever the outcome, so the faults depend only on the seed and the request sequence.
    fn draw(&mut self, route_key: &str, can_race: bool) -> Option<FaultKind> {
        if !self.settings.applies_to(route_key) {
            return None;
        }
        let roll: f64 = self.rng.random();
        let pick: f64 = self.rng.random();
        if roll >= self.settings.fraction {
            return None;
        }
        // A kind that cannot happen to this request leaves its weight to the others.
        let possible = |kind: FaultKind| match kind {
            // An ETag race needs an If-Match write to an existing object.
            FaultKind::EtagRace => can_race,
            // hyper never polls the body of an answer to HEAD, so it would send the head: a 200.
            FaultKind::ResetBefore | FaultKind::ResetAfter => !route_key.starts_with("HEAD "),
            _ => true,
        };
        let candidates: Vec<(FaultKind, f64)> = self
            .settings
            .kinds
            .iter()
            .filter(|(kind, weight)| **weight > 0.0 && possible(**kind))
            .map(|(kind, weight)| (*kind, *weight))
            .collect();
        let total: f64 = candidates.iter().map(|(_, weight)| weight).sum();
        let mut target = pick * total;
        for (kind, weight) in &candidates {
            if target < *weight {
                return Some(*kind);
            }
            target -= weight;
        }
        // Rounding can leave the target just past the last weight.
        candidates.last().map(|(kind, _)| *kind)
    }
}

/// At most this many injected faults are listed in [`FaultCounts::log`]; the counts go on.
const FAULT_LOG_CAP: usize = 10_000;

/// One injected fault: the request's number since the counts were reset, its route, the kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InjectedFault {
    pub request: u64,
    pub route: String,
    pub kind: String,
}

/// Faults injected by chaos or from the queue since the last reset (`queued_<status>` for the queue's).
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct FaultCounts {
    /// Every request to an emulated IBM route, faulted or not.
    pub requests: u64,
    pub faults: u64,
    pub by_kind: BTreeMap<String, u64>,
    pub by_route: BTreeMap<String, BTreeMap<String, u64>>,
    pub log: Vec<InjectedFault>,
}

impl FaultCounts {
    fn record(&mut self, route_key: &str, kind: &str) {
        self.faults += 1;
        *self.by_kind.entry(kind.to_string()).or_insert(0) += 1;
        *self.by_route.entry(route_key.to_string()).or_default().entry(kind.to_string()).or_insert(0) += 1;
        if self.log.len() < FAULT_LOG_CAP {
            self.log.push(InjectedFault { request: self.requests, route: route_key.to_string(), kind: kind.to_string() });
        }
    }
}

/// `"METHOD /template"` for routed requests; the raw path otherwise.
pub fn route_key(request: &Request) -> String {
    let path = match request.extensions().get::<MatchedPath>() {
        Some(matched) => matched.as_str().to_string(),
        None => request.uri().path().to_string(),
    };
    format!("{} {}", request.method(), path)
}

enum Injection {
    Queued(Fault),
    Chaos(FaultKind, ChaosSettings),
}

/// Counts the request, then answers with the first matching queued fault, or with what chaos
/// mode draws for it, or serves it.
pub async fn count_and_inject_faults(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let key = route_key(&request);
    let race_target = race_target(&state, &key, &mut request).await;
    let injection = {
        let mut runtime = state.runtime();
        runtime.request_total += 1;
        *runtime.request_counts.entry(key.clone()).or_insert(0) += 1;
        runtime.fault_counts.requests += 1;
        let injection = match take_matching_fault(&mut runtime.faults, &key) {
            Some(Fault { kind: Some(kind), .. }) => Some(Injection::Chaos(kind, ChaosSettings::new(0, 0.0))),
            Some(fault) => Some(Injection::Queued(fault)),
            None => runtime.chaos.as_mut().and_then(|chaos| {
                let target = race_target.as_ref().map(|(target, id)| format!("{}/{id}", target.kind));
                let can_race = target.is_some() && target != chaos.last_raced;
                let kind = chaos.draw(&key, can_race);
                if target.is_some() {
                    chaos.last_raced = if kind == Some(FaultKind::EtagRace) { target } else { None };
                }
                Some(Injection::Chaos(kind?, chaos.settings.clone()))
            }),
        };
        match &injection {
            Some(Injection::Queued(fault)) => runtime.fault_counts.record(&key, &format!("queued_{}", fault.status)),
            Some(Injection::Chaos(kind, _)) => runtime.fault_counts.record(&key, kind.name()),
            None => {}
        }
        injection
    };
    let response = match injection {
        None => next.run(request).await,
        Some(Injection::Queued(fault)) => {
            log::info!("{key}: injected fault {}", fault.status);
            fault_response(&state, &key, &fault)
        }
        Some(Injection::Chaos(kind, settings)) => {
            log::info!("{key}: chaos injects {kind}");
            inject(&state, &key, kind, &settings, race_target, request, next).await
        }
    };
    log::info!("{key} -> {}", response.status().as_u16());
    response
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn take_matching_fault(queue: &mut VecDeque<Fault>, key: &str) -> Option<Fault> {
    let index = queue.iter().position(|fault| fault.matches(key))?;
    let fault = &mut queue[index];
    if fault.after > 0 {
        fault.after -= 1;
        return None;
    }
    fault.remaining = fault.remaining.saturating_sub(1);
    let taken = fault.clone();
    if fault.remaining == 0 {
        queue.remove(index);
    }
    Some(taken)
}

fn fault_response(state: &AppState, route_key: &str, fault: &Fault) -> Response {
    let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = fault.message.clone().unwrap_or_else(|| format!("Injected fault: {}", status.canonical_reason().unwrap_or("error")));
    // The token endpoint has its own error shape; clients parse it differently.
    let mut error = if route_key == TOKEN_ROUTE_KEY {
        let code = fault.code.as_deref().unwrap_or("BXNIM0400E");
        ApiError::iam_token(status, code, &message, state.base_url())
    } else {
        let code = fault.code.as_deref().unwrap_or(default_code_for_status(status));
        ApiError::platform(status, code, message)
    };
    if let Some(retry_after) = &fault.retry_after {
        error = error.with_header(header::RETRY_AFTER, retry_after.clone());
    }
    error.into_response()
}

async fn inject(
    state: &AppState,
    key: &str,
    kind: FaultKind,
    settings: &ChaosSettings,
    race_target: Option<(&'static RaceTarget, String)>,
    request: Request,
    next: Next,
) -> Response {
    match kind {
        FaultKind::Throttle => {
            let fault = Fault::answer(429, Some(settings.retry_after_seconds), "Injected fault (chaos): too many requests.");
            fault_response(state, key, &fault)
        }
        FaultKind::Error500 => fault_response(state, key, &Fault::answer(500, None, "Injected fault (chaos): internal server error.")),
        FaultKind::Error503 => {
            let retry_after = settings.error503_retry_after.then_some(settings.retry_after_seconds);
            fault_response(state, key, &Fault::answer(503, retry_after, "Injected fault (chaos): service unavailable."))
        }
        FaultKind::ResetBefore => dropped_connection(),
        FaultKind::ResetAfter => {
            let lost = next.run(request).await;
            log::info!("{key}: acted on ({}), answer dropped", lost.status().as_u16());
            dropped_connection()
        }
        FaultKind::Stall => served_after(Duration::from_millis(settings.stall_ms), request, next).await,
        FaultKind::EtagRace => {
            if let Some((target, id)) = race_target {
                another_writer_changes(state, target, &id);
            }
            next.run(request).await
        }
    }
}

/// A response whose body fails at once: hyper then closes the connection before it has sent even
/// the status line, so the client sees the connection end without an answer.
fn dropped_connection() -> Response {
    let failure = futures::stream::once(async {
        Err::<Bytes, io::Error>(io::Error::new(io::ErrorKind::ConnectionReset, "emulator chaos: connection dropped"))
    });
    Body::from_stream(failure).into_response()
}

/// Serves the request after `delay`, in a task of its own, so that a client that times out and
/// closes the connection meanwhile does not stop it: like a server that got the request, the
/// change is still made (the outcome the client cannot know).
async fn served_after(delay: Duration, request: Request, next: Next) -> Response {
    let served = tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        next.run(request).await
    });
    match served.await {
        Ok(response) => response,
        Err(err) => {
            log::error!("stalled request failed: {err}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The IAM ID that the ETag race's other writer leaves in `last_modified_by_id` (a service ID, as
/// an automation running beside Terraform would have).
pub const OTHER_WRITER_IAM_ID: &str = "iam-ServiceId-emulator-other-writer";
/// What the other writer puts in a policy's `description`, which the provider does not manage.
pub const OTHER_WRITER_POLICY_DESCRIPTION: &str = "Changed by another writer (emulator ETag race)";
/// The account setting the other writer changes, which the provider does not manage.
pub const OTHER_WRITER_ACCOUNT_SETTING: &str = "system_access_token_expiration_in_seconds";

/// An If-Match write whose object another writer can change first.
pub struct RaceTarget {
    pub route: &'static str,
    /// The object's kind in the store, and the path parameter holding its id.
    pub kind: &'static str,
    pub id_param: &'static str,
    /// The other writer's change to the stored object, given the time as IBM writes it.
    pub change: fn(&mut Value, &str),
}

/// Every If-Match write of the emulated APIs. Where IBM's API lets a writer change nothing the
/// provider does not manage (roles, access groups, rules, IdPs), the other writer re-saves the
/// object as it is, which moves only its modification stamp (and the ETag).
pub const RACE_TARGETS: &[RaceTarget] = &[
    RaceTarget { route: "PUT /v2/roles/{id}", kind: iam_roles::KIND, id_param: "id", change: stamp_other_writer },
    RaceTarget { route: "PATCH /v2/groups/{id}", kind: access_groups::GROUPS, id_param: "id", change: stamp_other_writer },
    RaceTarget {
        route: "PUT /v2/groups/{id}/rules/{rule_id}",
        kind: access_groups::RULES,
        id_param: "rule_id",
        change: stamp_other_writer,
    },
    RaceTarget { route: "PUT /v1/policies/{id}", kind: iam_policies::KIND, id_param: "id", change: describe_policy },
    RaceTarget {
        route: "PUT /v1/accounts/{account_id}/settings/identity",
        kind: iam_identity::KIND,
        id_param: "account_id",
        change: change_access_token_expiration,
    },
    RaceTarget { route: "PUT /v1/idps/{idp_id}", kind: iam_idps::IDPS, id_param: "idp_id", change: stamp_idp },
];

fn stamp_other_writer(object: &mut Value, now: &str) {
    object["last_modified_at"] = json!(now);
    object["last_modified_by_id"] = json!(OTHER_WRITER_IAM_ID);
}

fn describe_policy(policy: &mut Value, now: &str) {
    stamp_other_writer(policy, now);
    policy["description"] = json!(OTHER_WRITER_POLICY_DESCRIPTION);
}

/// Toggles the setting between two valid values, so that every race is a change; records the
/// writer in the settings' history as IAM Identity does for its own updates.
fn change_access_token_expiration(settings: &mut Value, now: &str) {
    let next = if settings[OTHER_WRITER_ACCOUNT_SETTING] == "2700" { "3600" } else { "2700" };
    settings[OTHER_WRITER_ACCOUNT_SETTING] = json!(next);
    let entry = json!({"timestamp": now, "iam_id": OTHER_WRITER_IAM_ID, "iam_id_account": settings["account_id"],
                       "action": "update", "params": [OTHER_WRITER_ACCOUNT_SETTING], "message": "Account settings updated"});
    match settings.get_mut("history").and_then(Value::as_array_mut) {
        Some(history) => history.push(entry),
        None => settings["history"] = json!([entry]),
    }
}

/// IdPs record no modifier, only `modified_at`.
fn stamp_idp(idp: &mut Value, now: &str) {
    idp["modified_at"] = json!(now);
}

/// The race target of an If-Match write to an object that exists, with the object's id.
async fn race_target(state: &AppState, key: &str, request: &mut Request) -> Option<(&'static RaceTarget, String)> {
    if !request.headers().contains_key(header::IF_MATCH) {
        return None;
    }
    let target = RACE_TARGETS.iter().find(|target| target.route == key)?;
    let params = request.extract_parts::<RawPathParams>().await.ok()?;
    let id = params.iter().find(|(name, _)| *name == target.id_param)?.1.to_string();
    let exists = state.with_objects(|tx| tx.get(target.kind, &id).is_some_and(|record| record.value.is_object()));
    exists.then_some((target, id))
}

/// The other writer's change: the object changes and gets a new revision and ETag.
fn another_writer_changes(state: &AppState, target: &RaceTarget, id: &str) {
    state.with_objects(|tx| {
        let Some(mut object) = tx.get(target.kind, id).map(|record| record.value.clone()) else { return };
        (target.change)(&mut object, &iso_timestamp(tx.now_ms()));
        if let Some(record) = tx.update(target.kind, id, object) {
            log::info!("another writer changed {} {id}: now revision {}", target.kind, record.revision);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(route: Option<&str>, remaining: u32) -> Fault {
        Fault { route: route.map(String::from), status: 429, remaining, after: 0, kind: None, retry_after: None, code: None, message: None }
    }

    #[test]
    fn faults_are_consumed_in_order_and_by_route() {
        let mut queue = VecDeque::from([fault(Some("POST /v2/roles"), 2), fault(None, 1)]);
        assert!(take_matching_fault(&mut queue, "GET /v2/roles").is_some_and(|f| f.route.is_none()));
        assert!(take_matching_fault(&mut queue, "GET /v2/roles").is_none());
        assert!(take_matching_fault(&mut queue, "POST /v2/roles").is_some());
        assert!(take_matching_fault(&mut queue, "POST /v2/roles").is_some());
        assert!(take_matching_fault(&mut queue, "POST /v2/roles").is_none());
        assert!(queue.is_empty());
    }

    fn draws(settings: &ChaosSettings, routes: &[&str]) -> Vec<Option<FaultKind>> {
        let mut chaos = Chaos::new(settings.clone());
        routes.iter().map(|route| chaos.draw(route, true)).collect()
    }

    #[test]
    fn the_seed_decides_the_faults() {
        let routes = ["GET /v2/roles"; 200];
        let settings = ChaosSettings::new(42, 0.3);
        let first = draws(&settings, &routes);
        assert_eq!(first, draws(&settings, &routes));
        assert_ne!(first, draws(&ChaosSettings::new(43, 0.3), &routes));
        let faulted = first.iter().flatten().count();
        assert!((30..=90).contains(&faulted), "{faulted} of 200 at 0.3");
        // Every kind comes up in 200 requests at even weights.
        assert!(FaultKind::ALL.iter().all(|kind| first.contains(&Some(*kind))), "{first:?}");
    }

    #[test]
    fn fraction_zero_never_faults_and_one_always_does() {
        let routes = ["POST /v2/groups"; 100];
        assert!(draws(&ChaosSettings::new(1, 0.0), &routes).iter().all(Option::is_none));
        assert!(draws(&ChaosSettings::new(1, 1.0), &routes).iter().all(Option::is_some));
    }

    #[test]
    fn routes_and_the_token_route() {
        let mut settings = ChaosSettings::new(1, 1.0);
        assert!(settings.applies_to("GET /v2/roles"));
        assert!(!settings.applies_to(TOKEN_ROUTE_KEY));
        settings.include_token_route = true;
        assert!(settings.applies_to(TOKEN_ROUTE_KEY));
        settings.routes = Some(vec!["POST /v2/groups".into()]);
        assert!(settings.applies_to("POST /v2/groups"));
        assert!(!settings.applies_to("GET /v2/roles"));
        assert!(!settings.applies_to(TOKEN_ROUTE_KEY), "a route list names the token route itself");
        settings.routes = Some(vec![TOKEN_ROUTE_KEY.into()]);
        settings.include_token_route = false;
        assert!(settings.applies_to(TOKEN_ROUTE_KEY));
    }

    #[test]
    fn kinds_are_drawn_only_where_they_can_happen() {
        let mut settings = ChaosSettings::new(5, 1.0);
        settings.kinds = BTreeMap::from([(FaultKind::EtagRace, 1.0), (FaultKind::Throttle, 1.0)]);
        let mut chaos = Chaos::new(settings.clone());
        let kinds: Vec<_> = (0..50).map(|_| chaos.draw("PUT /v2/roles/{id}", false)).collect();
        assert!(kinds.iter().all(|kind| *kind == Some(FaultKind::Throttle)));
        settings.kinds = BTreeMap::from([(FaultKind::EtagRace, 1.0)]);
        let mut chaos = Chaos::new(settings.clone());
        assert_eq!(chaos.draw("GET /v2/roles", false), None);
        assert_eq!(chaos.draw("PUT /v2/roles/{id}", true), Some(FaultKind::EtagRace));
        settings.kinds = BTreeMap::from([(FaultKind::ResetBefore, 1.0), (FaultKind::ResetAfter, 1.0), (FaultKind::Error500, 1.0)]);
        let mut chaos = Chaos::new(settings);
        let kinds: Vec<_> = (0..50).map(|_| chaos.draw("HEAD /v2/groups/{id}/members/{iam_id}", false)).collect();
        assert!(kinds.iter().all(|kind| *kind == Some(FaultKind::Error500)), "no reset of a HEAD: {kinds:?}");
    }

    #[test]
    fn settings_parse_with_defaults_and_checks() {
        let settings = ChaosSettings::try_from(json!({"seed": 7, "fraction": 0.15})).unwrap();
        assert_eq!(settings, ChaosSettings::new(7, 0.15));
        let settings = ChaosSettings::try_from(json!({"seed": 7, "fraction": 1, "kinds": {"throttle": 3, "reset_after": 1},
            "routes": ["POST /v2/groups"], "retry_after_seconds": 2, "stall_ms": 10, "error503_retry_after": true}))
        .unwrap();
        assert_eq!(settings.kinds, BTreeMap::from([(FaultKind::Throttle, 3.0), (FaultKind::ResetAfter, 1.0)]));
        assert_eq!((settings.retry_after_seconds, settings.stall_ms, settings.error503_retry_after), (2, 10, true));
        let listed = ChaosSettings::try_from(json!({"seed": 7, "fraction": 1, "kinds": ["stall", "etag_race"]})).unwrap();
        assert_eq!(listed.kinds, BTreeMap::from([(FaultKind::Stall, 1.0), (FaultKind::EtagRace, 1.0)]));
        // The GET answer reads back as the same settings.
        assert_eq!(ChaosSettings::try_from(serde_json::to_value(&settings).unwrap()).unwrap(), settings);
        for (bad, says) in [
            (json!({"fraction": 0.1}), "'seed' is required"),
            (json!({"seed": 1, "fraction": 1.5}), "'fraction'"),
            (json!({"seed": 1, "fraction": 0.1, "kinds": ["flood"]}), "unknown fault kind 'flood'"),
            (json!({"seed": 1, "fraction": 0.1, "kinds": {"throttle": 0}}), "at least one"),
            (json!({"seed": 1, "fraction": 0.1, "routes": ["/v2/groups"]}), "route keys"),
            (json!({"seed": 1, "fraction": 0.1, "speed": 2}), "unknown field 'speed'"),
        ] {
            let err = ChaosSettings::try_from(bad.clone()).expect_err(&bad.to_string());
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn kinds_flag_takes_names_and_weights() {
        let kinds = parse_kinds_flag("throttle, reset_after=2.5,etag_race").unwrap();
        assert_eq!(kinds, BTreeMap::from([(FaultKind::Throttle, 1.0), (FaultKind::ResetAfter, 2.5), (FaultKind::EtagRace, 1.0)]));
        assert!(parse_kinds_flag("throttle=x").is_err());
        assert!(parse_kinds_flag("reset").is_err());
    }

    #[test]
    fn the_other_writer_changes_what_it_says() {
        let mut settings = iam_identity::default_settings("acc");
        change_access_token_expiration(&mut settings, "2024-01-01T00:00:00.000Z");
        assert_eq!(settings[OTHER_WRITER_ACCOUNT_SETTING], "2700");
        assert_eq!(settings["history"][0]["iam_id"], OTHER_WRITER_IAM_ID);
        change_access_token_expiration(&mut settings, "2024-01-01T00:00:01.000Z");
        assert_eq!(settings[OTHER_WRITER_ACCOUNT_SETTING], "3600");
        let mut policy = json!({"id": "p", "roles": []});
        describe_policy(&mut policy, "now");
        assert_eq!(policy["description"], OTHER_WRITER_POLICY_DESCRIPTION);
        assert_eq!(policy["last_modified_by_id"], OTHER_WRITER_IAM_ID);
    }
}
