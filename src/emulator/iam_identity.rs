//! IAM Identity — account settings (`/v1/accounts/{account_id}/settings/identity`).
//!
//! One settings object per account, stored under [`KIND`] with the account id as id. It exists
//! from the start with IBM's defaults: the first request to an account materialises them. The
//! version is the record's ETag, returned as `entity_tag` in the body; `PUT` needs it in
//! `If-Match`. A stale tag gets 409 (UNCERTAIN: IBM documents no status; IAM Identity reports
//! other conflicts as 409). `PUT` changes only the fields it carries.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{json, Map, Value};

use super::errors::{new_trace_id, parse_json_object, ApiError};
use super::iam_token::Caller;
use super::state::{etag_matches, iso_timestamp, new_etag, AppState, Record, Txn};

/// Object kind of account settings in the store (and in the admin API).
pub const KIND: &str = "account_settings";

const VISIBILITY: &[&str] = &["RESTRICTED", "NOT_RESTRICTED"];
const CREATION: &[&str] = &["RESTRICTED", "NOT_RESTRICTED", "NOT_SET"];
const MFA: &[&str] = &["NONE", "NONE_NO_ROPC", "TOTP", "TOTP4ALL", "LEVEL1", "LEVEL2", "LEVEL3"];
/// Numeric settings (sent as strings) and their ranges; `NOT_SET` is always accepted.
const NUMBERS: &[(&str, u64, u64)] = &[
    ("session_expiration_in_seconds", 900, 86_400),
    ("session_invalidation_in_seconds", 900, 7_200),
    ("max_sessions_per_identity", 1, u64::MAX),
    ("system_access_token_expiration_in_seconds", 900, 3_600),
    ("system_refresh_token_expiration_in_seconds", 900, 2_592_000),
];

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/accounts/{account_id}/settings/identity", get(get_settings).put(update_settings))
}

/// IBM's defaults for a new account.
pub fn default_settings(account_id: &str) -> Value {
    json!({
        "account_id": account_id,
        "restrict_create_service_id": "NOT_SET",
        "restrict_create_platform_apikey": "NOT_SET",
        "restrict_user_list_visibility": "NOT_RESTRICTED",
        "restrict_user_domains": [],
        "allowed_ip_addresses": "",
        "mfa": "NONE",
        "user_mfa": [],
        "session_expiration_in_seconds": "86400",
        "session_invalidation_in_seconds": "7200",
        "max_sessions_per_identity": "NOT_SET",
        "system_access_token_expiration_in_seconds": "3600",
        "system_refresh_token_expiration_in_seconds": "259200",
        "history": [],
    })
}

/// IAM Identity error shape: `{"errors":[{"code","message","message_code"}],"status_code","trace"}`.
fn identity_error(status: StatusCode, code: &str, message_code: &str, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        body: json!({
            "errors": [{"code": code, "message": message.into(), "message_code": message_code}],
            "status_code": status.as_u16(),
            "trace": new_trace_id(),
        }),
        headers: Vec::new(),
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    identity_error(StatusCode::BAD_REQUEST, "invalid_request", "BXNIM0507E", message)
}

/// The account's settings record, created with the defaults on first use (never subject to lag:
/// the settings exist as long as the account does).
fn settings_record(tx: &mut Txn<'_>, account_id: &str) -> Record {
    if let Some(record) = tx.get(KIND, account_id) {
        return record.clone();
    }
    let now = tx.now_ms();
    let record = Record { value: default_settings(account_id), revision: 1, etag: new_etag(1), created_at_ms: now, visible_at_ms: now };
    tx.put_record(KIND, account_id, record.clone());
    record
}

fn presented(record: &Record, operation: &str, url: &str) -> Value {
    let mut body = record.value.clone();
    body["entity_tag"] = Value::String(record.etag.clone());
    body["context"] = json!({"transaction_id": new_trace_id(), "operation": operation, "url": url});
    body
}

fn check_account(caller: &Caller, account_id: &str) -> Result<(), ApiError> {
    if caller.account_id == account_id {
        Ok(())
    } else {
        Err(identity_error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "BXNIM0513E",
            format!("You are not authorized to access the settings of account '{account_id}'."),
        ))
    }
}

async fn get_settings(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(account_id): Path<String>,
) -> Result<Response, ApiError> {
    check_account(&caller, &account_id)?;
    let record = state.with_objects(|tx| settings_record(tx, &account_id));
    Ok(Json(presented(&record, "get_account_settings", state.base_url())).into_response())
}

fn string_field<'a>(body: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(format!("The field '{field}' must be a string."))),
    }
}

fn one_of(body: &Map<String, Value>, field: &str, allowed: &[&str]) -> Result<(), ApiError> {
    match string_field(body, field)? {
        Some(v) if !allowed.contains(&v) => Err(invalid(format!("Invalid value '{v}' for '{field}'; allowed: {}.", allowed.join(", ")))),
        _ => Ok(()),
    }
}

/// Checks every field the update carries; returns the merged settings.
fn merged(current: &Value, body: &Map<String, Value>) -> Result<Value, ApiError> {
    one_of(body, "restrict_user_list_visibility", VISIBILITY)?;
    one_of(body, "restrict_create_platform_apikey", CREATION)?;
    one_of(body, "restrict_create_service_id", CREATION)?;
    one_of(body, "mfa", MFA)?;
    for (field, min, max) in NUMBERS {
        let Some(v) = string_field(body, field)? else { continue };
        let ok = v == "NOT_SET" || v.parse::<u64>().is_ok_and(|n| (*min..=*max).contains(&n));
        if !ok {
            return Err(invalid(format!("Invalid value '{v}' for '{field}': a number from {min} to {max} as a string, or NOT_SET.")));
        }
    }
    string_field(body, "allowed_ip_addresses")?;
    let mut next = current.clone();
    for (field, value) in body {
        match field.as_str() {
            "restrict_user_domains" => next[field] = merge_domains(&current[field], value)?,
            // Read-only or unknown fields are ignored, as the real API ignores unknown input.
            "account_id" | "entity_tag" | "history" | "context" => {}
            _ if value.is_null() => {}
            _ if current.get(field).is_some() => next[field] = value.clone(),
            _ => {}
        }
    }
    Ok(next)
}

/// Entries are merged per `realm_id`; an entry with only `realm_id` removes that realm's entry.
fn merge_domains(current: &Value, sent: &Value) -> Result<Value, ApiError> {
    let Value::Array(sent) = sent else {
        return Err(invalid("The field 'restrict_user_domains' must be a list."));
    };
    let mut entries: Vec<Value> = current.as_array().cloned().unwrap_or_default();
    for entry in sent {
        let Some(realm) = entry.get("realm_id").and_then(Value::as_str).filter(|r| !r.is_empty()) else {
            return Err(invalid("Every entry of 'restrict_user_domains' needs a 'realm_id'."));
        };
        if let Some(patterns) = entry.get("invitation_email_allow_patterns") {
            let all_strings = patterns.as_array().is_some_and(|p| p.iter().all(Value::is_string));
            if !all_strings {
                return Err(invalid("'invitation_email_allow_patterns' must be a list of strings."));
            }
        }
        entries.retain(|e| e.get("realm_id").and_then(Value::as_str) != Some(realm));
        let only_realm = entry.as_object().is_some_and(|o| o.keys().all(|k| k == "realm_id"));
        if !only_realm {
            entries.push(entry.clone());
        }
    }
    Ok(Value::Array(entries))
}

async fn update_settings(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(account_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_account(&caller, &account_id)?;
    let Some(if_match) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()).map(str::to_string) else {
        return Err(invalid("The If-Match header is required: send the entity_tag of the settings, or '*'."));
    };
    let body = parse_json_object(&body).map_err(|_| invalid("The request body must be a JSON object."))?;
    let updated = state.with_objects(|tx| {
        let current = settings_record(tx, &account_id);
        if !etag_matches(&if_match, &current.etag) {
            return Err(identity_error(
                StatusCode::CONFLICT,
                "conflict",
                "BXNIM0509E",
                "The entity tag in If-Match is outdated: the settings were changed; read them again.",
            ));
        }
        let mut next = merged(&current.value, &body)?;
        let entry = json!({"timestamp": iso_timestamp(tx.now_ms()), "iam_id": caller.iam_id, "iam_id_account": account_id,
                           "action": "update", "params": body.keys().cloned().collect::<Vec<_>>(), "message": "Account settings updated"});
        if let Some(history) = next.get_mut("history").and_then(Value::as_array_mut) {
            history.push(entry);
        }
        tx.update(KIND, &account_id, next).ok_or_else(|| invalid("settings vanished"))
    })?;
    Ok((StatusCode::OK, Json(presented(&updated, "update_account_settings", state.base_url()))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_validates_and_keeps_unsent_fields() {
        let current = default_settings("acc");
        let body = json!({"restrict_user_list_visibility": "RESTRICTED", "session_expiration_in_seconds": "3600",
                          "restrict_user_domains": [{"realm_id": "IBMid", "invitation_email_allow_patterns": ["*@x.org"], "restrict_invitation": true}]});
        let next = merged(&current, body.as_object().unwrap()).unwrap();
        assert_eq!(next["restrict_user_list_visibility"], "RESTRICTED");
        assert_eq!(next["mfa"], "NONE");
        assert_eq!(next["restrict_user_domains"][0]["invitation_email_allow_patterns"][0], "*@x.org");
        let removed = merged(&next, json!({"restrict_user_domains": [{"realm_id": "IBMid"}]}).as_object().unwrap()).unwrap();
        assert_eq!(removed["restrict_user_domains"], json!([]));
        for bad in
            [json!({"mfa": "SMS"}), json!({"session_expiration_in_seconds": "60"}), json!({"restrict_user_list_visibility": "NOT_SET"})]
        {
            let err = merged(&current, bad.as_object().unwrap()).unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST);
        }
    }
}

#[cfg(test)]
mod route_tests {
    use serde_json::{json, Value};

    use reqwest::Method;

    use crate::emulator::tests::Harness;
    use crate::emulator::EmulatorConfig;

    #[tokio::test]
    async fn settings_exist_from_the_start_and_put_needs_the_current_tag() {
        let h = Harness::start(EmulatorConfig::default()).await;
        let path = format!("/v1/accounts/{}/settings/identity", h.account());
        let get = || async { h.call(Method::GET, &path, None, &[]).await.1 };
        let put = |tag: Option<String>, body: Value| {
            let (h, path) = (&h, &path);
            async move {
                let headers: Vec<(&str, &str)> = tag.as_deref().map(|t| ("If-Match", t)).into_iter().collect();
                let (status, body, _) = h.call(Method::PUT, path, Some(body), &headers).await;
                (status.as_u16(), body)
            }
        };
        let first = get().await;
        assert_eq!((first["restrict_user_list_visibility"].as_str(), first["mfa"].as_str()), (Some("NOT_RESTRICTED"), Some("NONE")));
        let tag = first["entity_tag"].as_str().expect("entity_tag").to_string();
        let change = json!({"restrict_user_list_visibility": "RESTRICTED"});
        assert_eq!(put(None, change.clone()).await.0, 400);
        let (status, body) = put(Some(tag.clone()), change.clone()).await;
        assert_eq!(status, 200, "{body}");
        assert_ne!(body["entity_tag"], tag.as_str());
        assert_eq!(body["mfa"], "NONE", "fields not sent stay");
        let (status, body) = put(Some(tag), change).await;
        assert_eq!((status, body["status_code"].as_u64()), (409, Some(409)), "stale tag");
        let (status, _, _) = h.call(Method::GET, "/v1/accounts/ffffffffffffffffffffffffffffffff/settings/identity", None, &[]).await;
        assert_eq!(status.as_u16(), 403);
    }
}
