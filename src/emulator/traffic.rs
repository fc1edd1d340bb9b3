//! Traffic modes for benchmarks: a latency per request (fixed, plus uniform jitter), and a rate
//! limit per API like IBM's (past N requests in a second, 429 with `Retry-After`).
//!
//! Set at start (`--latency-ms`, `--jitter-ms`, `--rate-limit`, `--retry-after`) or by the admin
//! API: `GET|PUT /_emulator/traffic` `{"latency_ms":20,"jitter_ms":0,"rate_limit_per_second":40,
//! "retry_after_seconds":1}` (a `null` rate limit turns the mode off). While the rate limit is on,
//! every request is logged, `GET /_emulator/traffic/log` returns the log and `DELETE` clears it:
//! `{"entries":[{"at_ms","api","route","conn","status","closed_until_ms"?}]}`. `conn` names the
//! client connection, so a request that followed a 429 on the same connection is surely one the
//! client sent after reading that 429.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::errors::{parse_json_object, ApiError};
use super::faults::route_key;
use super::state::{now_ms, AppState};

/// The log keeps at most this many entries (the newest are dropped past it).
const LOG_CAP: usize = 200_000;

/// The modes; all off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrafficSettings {
    /// Added to every request before it is served.
    #[serde(default)]
    pub latency_ms: u64,
    /// A further random delay, uniform in 0..=jitter_ms.
    #[serde(default)]
    pub jitter_ms: u64,
    /// Requests per second per API past which the API answers 429; `None` = no limit.
    #[serde(default)]
    pub rate_limit_per_second: Option<u32>,
    /// The `Retry-After` (whole seconds) of those 429s; 0 means 1.
    #[serde(default)]
    pub retry_after_seconds: u64,
}

/// Settings plus the rate-limit windows and the log.
#[derive(Debug, Default)]
pub struct Traffic {
    pub settings: TrafficSettings,
    /// Per API: the start of its current one-second window and the requests served in it.
    windows: HashMap<&'static str, (u64, u32)>,
    /// Per API: refused until this time (ms since the epoch), after a 429.
    closed_until: HashMap<&'static str, u64>,
    log: Vec<Value>,
}

/// The IBM API (the provider's `endpoints` key) a path belongs to.
pub fn api_of(path: &str) -> &'static str {
    let has = |prefix: &str| path.starts_with(prefix);
    if has("/v2/roles") || has("/v1/policies") || has("/v2/policies") {
        "iam_policy"
    } else if has("/v2/resource_instances") || has("/v1/reclamations") || has("/v2/resource_keys") {
        "resource_controller"
    } else if has("/v2/resource_groups") || has("/v2/quota_definitions") {
        "resource_manager"
    } else if has("/v2/accounts/") || has("/v2/users") {
        "user_management"
    } else if has("/coe/v2/accounts") {
        "account_management"
    } else if has("/api/v1") {
        "global_catalog"
    } else if has("/v3/tags") || has("/v3/resources") {
        "tagging"
    } else if has("/management/v4") {
        "appid"
    } else {
        // The token endpoint, IAM Identity, Access Groups.
        "iam"
    }
}

/// What the rate limit decides for a request arriving at `now`.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Serve,
    /// Refuse with this `Retry-After`; the API is closed until `until_ms`.
    Refuse {
        retry_after_secs: u64,
        until_ms: u64,
    },
}

impl Traffic {
    fn decide(&mut self, api: &'static str, now: u64) -> Verdict {
        let Some(limit) = self.settings.rate_limit_per_second else { return Verdict::Serve };
        let retry_after_secs = self.settings.retry_after_seconds.max(1);
        if let Some(until) = self.closed_until.get(api).filter(|until| **until > now) {
            // Still closed: a client that waited as told does not get here.
            return Verdict::Refuse { retry_after_secs: (until - now).div_ceil(1000).max(1), until_ms: *until };
        }
        let window = self.windows.entry(api).or_insert((now, 0));
        if now >= window.0 + 1000 {
            *window = (now, 0);
        }
        if window.1 >= limit {
            let until_ms = now + retry_after_secs * 1000;
            self.closed_until.insert(api, until_ms);
            return Verdict::Refuse { retry_after_secs, until_ms };
        }
        window.1 += 1;
        Verdict::Serve
    }

    fn record(&mut self, entry: Value) {
        if self.settings.rate_limit_per_second.is_some() && self.log.len() < LOG_CAP {
            self.log.push(entry);
        }
    }
}

/// Middleware: rate limit (decided on arrival), then the latency, then the request itself.
pub async fn shape(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let key = route_key(&request);
    let api = api_of(request.uri().path());
    let conn = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.to_string());
    let now = now_ms();
    let (verdict, delay) = {
        let mut runtime = state.runtime();
        let traffic = &mut runtime.traffic;
        let verdict = traffic.decide(api, now);
        let mut entry = json!({"at_ms": now, "api": api, "route": key, "conn": conn});
        match &verdict {
            Verdict::Serve => entry["status"] = json!("served"),
            Verdict::Refuse { until_ms, .. } => {
                entry["status"] = json!(429);
                entry["closed_until_ms"] = json!(until_ms);
            }
        }
        traffic.record(entry);
        let s = &traffic.settings;
        let jitter = if s.jitter_ms > 0 { rand::random_range(0..=s.jitter_ms) } else { 0 };
        (verdict, Duration::from_millis(s.latency_ms + jitter))
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match verdict {
        Verdict::Serve => next.run(request).await,
        Verdict::Refuse { retry_after_secs, .. } => {
            log::info!("{key}: rate limited ({api})");
            ApiError::platform(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", format!("Rate limit of the {api} API exceeded."))
                .with_header(header::RETRY_AFTER, retry_after_secs.to_string())
                .into_response()
        }
    }
}

pub fn admin_routes() -> Router<AppState> {
    Router::new()
        .route("/_emulator/traffic", get(get_settings).put(put_settings))
        .route("/_emulator/traffic/log", get(get_log).delete(clear_log))
}

async fn get_settings(State(state): State<AppState>) -> Json<TrafficSettings> {
    Json(state.runtime().traffic.settings.clone())
}

async fn put_settings(State(state): State<AppState>, body: Bytes) -> Result<Json<TrafficSettings>, ApiError> {
    let body = parse_json_object(&body)?;
    let settings: TrafficSettings =
        serde_json::from_value(Value::Object(body)).map_err(|e| ApiError::invalid_body(format!("traffic settings: {e}")))?;
    if settings.rate_limit_per_second == Some(0) {
        return Err(ApiError::invalid_body("'rate_limit_per_second' must be at least 1, or null for no limit."));
    }
    let mut runtime = state.runtime();
    runtime.traffic.settings = settings.clone();
    runtime.traffic.windows.clear();
    runtime.traffic.closed_until.clear();
    log::info!("traffic settings: {settings:?}");
    Ok(Json(settings))
}

async fn get_log(State(state): State<AppState>) -> Json<Value> {
    Json(json!({"entries": state.runtime().traffic.log}))
}

async fn clear_log(State(state): State<AppState>) -> StatusCode {
    state.runtime().traffic.log.clear();
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(n: u32) -> Traffic {
        Traffic {
            settings: TrafficSettings { rate_limit_per_second: Some(n), retry_after_seconds: 1, ..TrafficSettings::default() },
            ..Traffic::default()
        }
    }

    #[test]
    fn past_the_limit_the_api_answers_429_until_the_retry_after() {
        let mut t = limited(2);
        assert_eq!(t.decide("iam", 1_000), Verdict::Serve);
        assert_eq!(t.decide("iam", 1_100), Verdict::Serve);
        assert_eq!(t.decide("iam", 1_200), Verdict::Refuse { retry_after_secs: 1, until_ms: 2_200 });
        // Another API has its own window.
        assert_eq!(t.decide("iam_policy", 1_300), Verdict::Serve);
        // A new window has begun, but the API stays closed until the time it gave.
        assert_eq!(t.decide("iam", 2_100), Verdict::Refuse { retry_after_secs: 1, until_ms: 2_200 });
        assert_eq!(t.decide("iam", 2_200), Verdict::Serve);
    }

    #[test]
    fn no_limit_serves_everything() {
        let mut t = Traffic::default();
        assert!((0..1000).all(|i| t.decide("iam", i) == Verdict::Serve));
    }

    #[test]
    fn paths_map_to_endpoint_keys() {
        assert_eq!(api_of("/identity/token"), "iam");
        assert_eq!(api_of("/v2/groups/AccessGroupId-1/members"), "iam");
        assert_eq!(api_of("/v1/policies/p"), "iam_policy");
        assert_eq!(api_of("/v2/roles"), "iam_policy");
        assert_eq!(api_of("/v2/accounts/a/users"), "user_management");
        assert_eq!(api_of("/coe/v2/accounts/a"), "account_management");
        assert_eq!(api_of("/v2/resource_instances"), "resource_controller");
        assert_eq!(api_of("/v2/resource_groups"), "resource_manager");
        assert_eq!(api_of("/v3/tags/attach"), "tagging");
        assert_eq!(api_of("/api/v1/quantum-computing"), "global_catalog");
    }
}
