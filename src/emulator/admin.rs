//! Admin API under `/_emulator/*`: health, request counters, fault queue, chaos mode and fault
//! counts, consistency lag (and its end) and generic access to stored objects (to seed, inspect, drift or
//! delete behind a client's back).
//!
//! Not authenticated, not counted, never subject to faults. Documented in `docs/emulator.md`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::errors::{parse_json_object, ApiError};
use super::faults::{Chaos, ChaosSettings, Fault, FaultCounts, FaultKind};
use super::state::{AppState, Record};

pub const PREFIX: &str = "/_emulator";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_emulator/health", get(health))
        .route("/_emulator/requests", get(request_counts))
        .route("/_emulator/requests/reset", post(reset_request_counts))
        .route("/_emulator/faults", get(list_faults).post(add_fault).delete(clear_faults))
        .route("/_emulator/faults/counts", get(fault_counts))
        .route("/_emulator/faults/counts/reset", post(reset_fault_counts))
        .route("/_emulator/chaos", get(get_chaos).put(set_chaos).delete(stop_chaos))
        .route("/_emulator/lag", get(get_lag).put(set_lag).delete(end_lag))
        .route("/_emulator/credentials", get(credentials_seen))
        .route("/_emulator/objects", get(list_kinds))
        .route("/_emulator/objects/{kind}", get(list_objects))
        .route("/_emulator/objects/{kind}/{id}", get(get_object).put(put_object).patch(patch_object).delete(delete_object))
}

async fn health() -> Json<Value> {
    Json(json!({"ok": true}))
}

async fn request_counts(State(state): State<AppState>) -> Json<Value> {
    let runtime = state.runtime();
    Json(json!({"total": runtime.request_total, "counts": runtime.request_counts}))
}

/// Every API key, token and password seen so far, by kind: what a leak test searches for.
async fn credentials_seen(State(state): State<AppState>) -> Json<Value> {
    Json(json!(state.runtime().credentials_seen))
}

async fn reset_request_counts(State(state): State<AppState>) -> StatusCode {
    let mut runtime = state.runtime();
    runtime.request_total = 0;
    runtime.request_counts.clear();
    StatusCode::NO_CONTENT
}

async fn list_faults(State(state): State<AppState>) -> Json<Value> {
    let faults: Vec<Fault> = state.runtime().faults.iter().cloned().collect();
    Json(json!({"faults": faults}))
}

fn optional_string(body: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(ApiError::invalid_body(format!("'{field}' must be a string."))),
    }
}

fn parse_fault(body: &Map<String, Value>) -> Result<Fault, ApiError> {
    let status = body
        .get("status")
        .and_then(Value::as_u64)
        .filter(|status| (100..=599).contains(status))
        .ok_or_else(|| ApiError::invalid_body("'status' must be an HTTP status code (100-599)."))?;
    let count = match body.get("count") {
        None | Some(Value::Null) => 1,
        Some(value) => value
            .as_u64()
            .and_then(|count| u32::try_from(count).ok())
            .filter(|count| *count > 0)
            .ok_or_else(|| ApiError::invalid_body("'count' must be a positive integer."))?,
    };
    // Accept both "2" and 2, since Retry-After is a string header holding seconds or a date.
    let retry_after = match body.get("retry_after") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Number(number)) => Some(number.to_string()),
        Some(_) => return Err(ApiError::invalid_body("'retry_after' must be a string or a number.")),
    };
    let after = match body.get("after") {
        None | Some(Value::Null) => 0,
        Some(value) => value
            .as_u64()
            .and_then(|after| u32::try_from(after).ok())
            .ok_or_else(|| ApiError::invalid_body("'after' must be a whole number of requests to serve first."))?,
    };
    let kind = optional_string(body, "kind")?.map(|name| FaultKind::from_name(&name)).transpose().map_err(ApiError::invalid_body)?;
    Ok(Fault {
        route: optional_string(body, "route")?,
        status: status as u16,
        remaining: count,
        after,
        kind,
        retry_after,
        code: optional_string(body, "code")?,
        message: optional_string(body, "message")?,
    })
}

async fn add_fault(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let fault = parse_fault(&parse_json_object(&body)?)?;
    log::info!("queued fault {:?}", fault);
    state.runtime().faults.push_back(fault.clone());
    Ok((StatusCode::CREATED, Json(json!(fault))).into_response())
}

async fn clear_faults(State(state): State<AppState>) -> StatusCode {
    state.runtime().faults.clear();
    StatusCode::NO_CONTENT
}

async fn fault_counts(State(state): State<AppState>) -> Json<FaultCounts> {
    Json(state.runtime().fault_counts.clone())
}

async fn reset_fault_counts(State(state): State<AppState>) -> StatusCode {
    state.runtime().fault_counts = FaultCounts::default();
    StatusCode::NO_CONTENT
}

/// `{"enabled", "settings" (null when off), "counts"}`.
fn chaos_body(chaos: Option<&Chaos>, counts: &FaultCounts) -> Json<Value> {
    let settings = chaos.map(|chaos| &chaos.settings);
    Json(json!({"enabled": settings.is_some(), "settings": settings, "counts": counts}))
}

async fn get_chaos(State(state): State<AppState>) -> Json<Value> {
    let runtime = state.runtime();
    chaos_body(runtime.chaos.as_ref(), &runtime.fault_counts)
}

/// Turns chaos on with these settings, its random sequence starting afresh from the seed. The
/// counts go on: reset them apart.
async fn set_chaos(State(state): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let body = Value::Object(parse_json_object(&body)?);
    let settings = ChaosSettings::try_from(body).map_err(|err| ApiError::invalid_body(format!("chaos settings: {err}")))?;
    log::info!("chaos on: {settings:?}");
    let mut runtime = state.runtime();
    runtime.chaos = Some(Chaos::new(settings));
    Ok(chaos_body(runtime.chaos.as_ref(), &runtime.fault_counts))
}

async fn stop_chaos(State(state): State<AppState>) -> StatusCode {
    state.runtime().chaos = None;
    log::info!("chaos off");
    StatusCode::NO_CONTENT
}

fn lag_body(lag_ms: u64) -> Json<Value> {
    Json(json!({"seconds": lag_ms as f64 / 1000.0}))
}

async fn get_lag(State(state): State<AppState>) -> Json<Value> {
    lag_body(state.runtime().lag_ms)
}

async fn set_lag(State(state): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let body = parse_json_object(&body)?;
    let seconds = body
        .get("seconds")
        .and_then(Value::as_f64)
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
        .ok_or_else(|| ApiError::invalid_body("'seconds' must be a non-negative number."))?;
    let lag_ms = (seconds * 1000.0).round() as u64;
    state.runtime().lag_ms = lag_ms;
    log::info!("consistency lag set to {lag_ms} ms");
    Ok(lag_body(lag_ms))
}

/// The lag is over: new objects are visible at once, and so is every object created under the lag
/// (IBM's replicas have caught up). Answers how many objects this revealed.
async fn end_lag(State(state): State<AppState>) -> Json<Value> {
    state.runtime().lag_ms = 0;
    let revealed = state.with_objects(|tx| tx.reveal_all());
    log::info!("consistency lag ended; {revealed} objects revealed");
    Json(json!({"seconds": 0.0, "revealed": revealed}))
}

fn object_entry(id: &str, record: &Record, now_ms: u64) -> Value {
    json!({
        "id": id,
        "revision": record.revision,
        "etag": record.etag,
        "created_at_ms": record.created_at_ms,
        "visible_at_ms": record.visible_at_ms,
        "visible": record.is_visible(now_ms),
        "value": record.value,
    })
}

fn object_not_found(kind: &str, id: &str) -> ApiError {
    ApiError::not_found("not_found", format!("No object '{id}' of kind '{kind}'."))
}

async fn list_kinds(State(state): State<AppState>) -> Json<Value> {
    let kinds: Map<String, Value> = state.with_objects(|tx| {
        tx.kind_names()
            .into_iter()
            .map(|kind| {
                let count = tx.iter_all(&kind).count();
                (kind, json!(count))
            })
            .collect()
    });
    Json(json!({"kinds": kinds}))
}

async fn list_objects(State(state): State<AppState>, Path(kind): Path<String>) -> Json<Value> {
    let objects: Vec<Value> = state.with_objects(|tx| {
        let now_ms = tx.now_ms();
        tx.iter_all(&kind).map(|(id, record)| object_entry(id, record, now_ms)).collect()
    });
    Json(json!({"kind": kind, "objects": objects}))
}

async fn get_object(State(state): State<AppState>, Path((kind, id)): Path<(String, String)>) -> Result<Json<Value>, ApiError> {
    state.with_objects(|tx| {
        let record = tx.get(&kind, &id).ok_or_else(|| object_not_found(&kind, &id))?;
        Ok(Json(object_entry(&id, record, tx.now_ms())))
    })
}

/// Creates (subject to the current lag) or replaces an object; the body is the object itself.
async fn put_object(State(state): State<AppState>, Path((kind, id)): Path<(String, String)>, body: Bytes) -> Result<Response, ApiError> {
    let value = Value::Object(parse_json_object(&body)?);
    let (status, entry) = state.with_objects(|tx| {
        let (status, record) = match tx.update(&kind, &id, value.clone()) {
            Some(record) => (StatusCode::OK, record),
            None => (StatusCode::CREATED, tx.create(&kind, &id, value)),
        };
        (status, object_entry(&id, &record, tx.now_ms()))
    });
    Ok((status, Json(entry)).into_response())
}

/// RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_fields) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target_fields) = target {
        for (key, patch_value) in patch_fields {
            if patch_value.is_null() {
                target_fields.remove(key);
            } else {
                merge_patch(target_fields.entry(key.clone()).or_insert(Value::Null), patch_value);
            }
        }
    }
}

/// Simulates drift: changes the stored object and its revision/ETag without going through the API.
async fn patch_object(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let patch = Value::Object(parse_json_object(&body)?);
    state.with_objects(|tx| {
        let mut value = tx.get(&kind, &id).ok_or_else(|| object_not_found(&kind, &id))?.value.clone();
        merge_patch(&mut value, &patch);
        let record = tx.update(&kind, &id, value).ok_or_else(|| object_not_found(&kind, &id))?;
        Ok(Json(object_entry(&id, &record, tx.now_ms())))
    })
}

async fn delete_object(State(state): State<AppState>, Path((kind, id)): Path<(String, String)>) -> Result<StatusCode, ApiError> {
    state.with_objects(|tx| {
        tx.remove(&kind, &id).ok_or_else(|| object_not_found(&kind, &id))?;
        Ok(StatusCode::NO_CONTENT)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_follows_rfc7386() {
        let mut target = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]});
        merge_patch(&mut target, &json!({"a": null, "b": {"c": 9}, "e": [2], "f": "x"}));
        assert_eq!(target, json!({"b": {"c": 9, "d": 3}, "e": [2], "f": "x"}));
    }

    #[test]
    fn fault_body_defaults_and_validation() {
        let body = parse_json_object(br#"{"status": 429, "retry_after": 2}"#).unwrap();
        let fault = parse_fault(&body).unwrap();
        assert_eq!((fault.status, fault.remaining, fault.retry_after.as_deref()), (429, 1, Some("2")));
        assert!(fault.route.is_none());
        let bad = parse_json_object(br#"{"status": 42}"#).unwrap();
        assert!(parse_fault(&bad).is_err());
    }
}
