//! App ID management API v4 (`/management/v4/{tenant_id}/…`): the Cloud Directory, Facebook and
//! Google IdP configurations, the token configuration, Cloud Directory users and user profiles.
//!
//! A tenant is an App ID instance of the Resource Controller (its GUID). Its configuration lives
//! under [`CONFIG`] (id = tenant), with App ID's defaults materialised on first use; users under
//! [`USERS`] and profiles under [`PROFILES`] (id = `TENANT/ID`). A password is never stored with its
//! user, only the fact that one was set (the process remembers it for leak tests, see
//! `/_emulator/credentials`). Unknown tenants get App ID's plain 404 `Not Found`.
//!
//! Choices where App ID's behaviour is uncertain (docs/emulator.md):
//! * `identityConfirmation.accessMode` accepts `FULL`, `RESTRICTIVE`, `OFF` and `false`, echoed as sent;
//! * `PUT /users/{id}/profile` accepts `{"attributes"}` and `{"profile":{"attributes"}}`, and replaces the attributes;
//! * `GET /users` does not require `dataScope`;
//! * a second user with the same e-mail is a 409 SCIM `uniqueness` error;
//! * App ID's own reads are consistent at once: the consistency lag does not apply to them.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::errors::{parse_json_object, ApiError};
use super::resource_controller;
use super::state::{iso_timestamp, AppState, Txn};

pub const SERVICE_NAME: &str = "appid";
/// Catalog ID of App ID (UNCERTAIN: not found in any source; the emulator's own).
pub const SERVICE_ID: &str = "AdvancedMobileAccess-d6aece47-d840-45b0-8ab9-ad15354deeea";
/// Plans and their catalog IDs (UNCERTAIN, as above).
pub const PLANS: [(&str, &str); 2] = [
    ("lite", "appid-lite-8d5e8cf2-24d0-4e1b-8b3a-7a8f5c2d9e01"),
    ("graduated-tier", "appid-graduated-tier-3f0b7d51-6c2a-4e5f-9b1d-2c7e8a4f6b02"),
];
pub const REGIONS: [&str; 9] = ["us-south", "us-east", "eu-de", "eu-gb", "jp-osa", "jp-tok", "au-syd", "br-sao", "ca-tor"];

pub const CONFIG: &str = "appid_config";
pub const USERS: &str = "appid_users";
pub const PROFILES: &str = "appid_profiles";

const ACCESS_MODES: [&str; 4] = ["FULL", "RESTRICTIVE", "OFF", "false"];
const CLAIM_SOURCES: [&str; 8] = ["appid_custom", "attributes", "cloud_directory", "facebook", "google", "ibmid", "roles", "saml"];

pub fn plan_name(plan_id: &str) -> Option<&'static str> {
    PLANS.iter().find(|(_, id)| *id == plan_id).map(|(name, _)| *name)
}

pub fn routes() -> Router<AppState> {
    let base = "/management/v4/{tenant}";
    Router::new()
        .route(&format!("{base}/config/idps/{{idp}}"), get(get_idp).put(put_idp))
        .route(&format!("{base}/config/tokens"), get(get_tokens).put(put_tokens))
        .route(&format!("{base}/cloud_directory/sign_up"), post(sign_up))
        .route(&format!("{base}/cloud_directory/Users"), get(list_users))
        .route(&format!("{base}/cloud_directory/Users/{{id}}"), get(get_user).put(update_user).delete(delete_user))
        .route(&format!("{base}/cloud_directory/remove/{{id}}"), delete(remove_user))
        .route(&format!("{base}/cloud_directory/change_password"), post(change_password))
        .route(&format!("{base}/cloud_directory/{{id}}/userinfo"), get(userinfo))
        .route(&format!("{base}/users"), get(search_users))
        .route(&format!("{base}/users/{{id}}/profile"), get(get_profile).put(put_profile))
}

/// App ID answers an unknown tenant (or the wrong region) with a bare 404.
fn tenant_not_found() -> ApiError {
    ApiError { status: StatusCode::NOT_FOUND, body: json!("Not Found"), headers: Vec::new() }
}

/// SCIM-style error of the Cloud Directory endpoints (status as a string, UNCERTAIN).
fn scim_error(status: StatusCode, detail: impl Into<String>, scim_type: Option<&str>) -> ApiError {
    let mut body =
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "detail": detail.into(), "status": status.as_u16().to_string()});
    if let Some(t) = scim_type {
        body["scimType"] = json!(t);
    }
    ApiError { status, body, headers: Vec::new() }
}

fn bad_request(message: impl Into<String>) -> ApiError {
    let message = message.into();
    ApiError {
        status: StatusCode::BAD_REQUEST,
        body: json!({"error": "bad_request", "error_description": message, "message": message}),
        headers: Vec::new(),
    }
}

/// The App ID instance with this GUID, if live; its region.
pub fn tenant_region(tx: &Txn<'_>, tenant: &str) -> Option<String> {
    let instance = tx.get_visible(resource_controller::KIND, tenant)?;
    let live = instance.value["state"] == "active" || instance.value["state"] == "provisioning";
    (live && instance.value["resource_id"] == SERVICE_ID).then(|| instance.value["region_id"].as_str().unwrap_or_default().to_string())
}

fn check_tenant(tx: &Txn<'_>, tenant: &str) -> Result<(), ApiError> {
    tenant_region(tx, tenant).map(|_| ()).ok_or_else(tenant_not_found)
}

fn default_tokens() -> Value {
    json!({"access": {"expires_in": 3600}, "refresh": {"enabled": true, "expires_in": 2_592_000}, "anonymousAccess": {"enabled": true, "expires_in": 2_592_000}})
}

/// A new instance's configuration, as App ID sets it up.
fn default_config() -> Value {
    json!({
        "cloud_directory": {"isActive": true, "config": {
            "selfServiceEnabled": true, "signupEnabled": true, "identityField": "email",
            "interactions": {"identityConfirmation": {"accessMode": "FULL", "methods": ["email"]},
                "welcomeEnabled": true, "resetPasswordEnabled": true, "resetPasswordNotificationEnable": true}}},
        // IBM's default credentials, limited in use, until the admin sets their own.
        "facebook": {"isActive": true},
        "google": {"isActive": true},
        "tokens": default_tokens(),
    })
}

/// The tenant's configuration, created with the defaults on first use.
pub fn config(tx: &mut Txn<'_>, tenant: &str) -> Value {
    if let Some(record) = tx.get(CONFIG, tenant) {
        return record.value.clone();
    }
    let value = default_config();
    tx.create(CONFIG, tenant, value.clone());
    value
}

fn store_config(tx: &mut Txn<'_>, tenant: &str, value: Value) {
    if tx.update(CONFIG, tenant, value.clone()).is_none() {
        tx.create(CONFIG, tenant, value);
    }
}

fn idp_key(idp: &str) -> Result<&'static str, ApiError> {
    match idp {
        "cloud_directory" => Ok("cloud_directory"),
        "facebook" => Ok("facebook"),
        "google" => Ok("google"),
        _ => Err(tenant_not_found()),
    }
}

fn presented_idp(key: &str, stored: &Value, tenant: &str, region: &str) -> Value {
    let mut out = stored.clone();
    if key != "cloud_directory" {
        out["redirectURL"] = json!(format!("https://{region}.appid.cloud.ibm.com/oauth/v4/{tenant}/{key}/callback"));
    }
    out
}

async fn get_idp(State(state): State<AppState>, Path((tenant, idp)): Path<(String, String)>) -> Result<Json<Value>, ApiError> {
    let key = idp_key(&idp)?;
    state.with_objects(|tx| {
        check_tenant(tx, &tenant)?;
        let region = tenant_region(tx, &tenant).unwrap_or_default();
        let config = config(tx, &tenant);
        Ok(Json(presented_idp(key, &config[key], &tenant, &region)))
    })
}

fn require_bool(body: &Value, pointer: &str) -> Result<bool, ApiError> {
    body.pointer(pointer)
        .and_then(Value::as_bool)
        .ok_or_else(|| bad_request(format!("'{}' is required and must be a boolean.", pointer.trim_start_matches('/').replace('/', "."))))
}

/// Checks a Cloud Directory configuration as the SDK marks it (required fields).
fn valid_cloud_directory(body: &Value) -> Result<Value, ApiError> {
    require_bool(body, "/isActive")?;
    if body.get("config").is_none() {
        return Err(bad_request("'config' is required."));
    }
    require_bool(body, "/config/selfServiceEnabled")?;
    require_bool(body, "/config/interactions/welcomeEnabled")?;
    require_bool(body, "/config/interactions/resetPasswordEnabled")?;
    require_bool(body, "/config/interactions/resetPasswordNotificationEnable")?;
    let mode = body.pointer("/config/interactions/identityConfirmation/accessMode");
    let mode_text = match mode {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(false)) => "false".into(),
        _ => String::new(),
    };
    if !ACCESS_MODES.contains(&mode_text.as_str()) {
        return Err(bad_request("'config.interactions.identityConfirmation.accessMode' must be FULL, RESTRICTIVE or OFF."));
    }
    if let Some(field) = body.pointer("/config/identityField") {
        if !matches!(field.as_str(), Some("email" | "userName")) {
            return Err(bad_request("'config.identityField' must be email or userName."));
        }
    }
    let mut stored = body.clone();
    if stored.pointer("/config/identityField").is_none() {
        stored["config"]["identityField"] = json!("email");
    }
    if stored.pointer("/config/signupEnabled").is_none() {
        stored["config"]["signupEnabled"] = json!(true);
    }
    Ok(stored)
}

async fn put_idp(State(state): State<AppState>, Path((tenant, idp)): Path<(String, String)>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let key = idp_key(&idp)?;
    let body = Value::Object(parse_json_object(&body).map_err(|_| bad_request("The body must be a JSON object."))?);
    let stored = if key == "cloud_directory" {
        valid_cloud_directory(&body)?
    } else {
        let active = require_bool(&body, "/isActive")?;
        let mut stored = json!({"isActive": active});
        if let Some(config) = body.get("config").filter(|c| !c.is_null()) {
            if config["idpId"].as_str().is_none() || config["secret"].as_str().is_none() {
                return Err(bad_request("'config' needs 'idpId' and 'secret'."));
            }
            stored["config"] = config.clone();
        }
        stored
    };
    state.with_objects(|tx| {
        check_tenant(tx, &tenant)?;
        let region = tenant_region(tx, &tenant).unwrap_or_default();
        let mut config = config(tx, &tenant);
        config[key] = stored.clone();
        store_config(tx, &tenant, config);
        Ok(Json(presented_idp(key, &stored, &tenant, &region)))
    })
}

async fn get_tokens(State(state): State<AppState>, Path(tenant): Path<String>) -> Result<Json<Value>, ApiError> {
    state.with_objects(|tx| {
        check_tenant(tx, &tenant)?;
        Ok(Json(config(tx, &tenant)["tokens"].clone()))
    })
}

fn valid_claims(body: &Value, field: &str) -> Result<(), ApiError> {
    let Some(claims) = body.get(field).filter(|c| !c.is_null()) else { return Ok(()) };
    let items = claims.as_array().ok_or_else(|| bad_request(format!("'{field}' must be a list.")))?;
    for claim in items {
        if !claim["source"].as_str().is_some_and(|s| CLAIM_SOURCES.contains(&s)) {
            return Err(bad_request(format!("Every entry of '{field}' needs a 'source', one of {}.", CLAIM_SOURCES.join(", "))));
        }
    }
    if items.len() > 100 {
        return Err(bad_request("A token carries at most 100 claims."));
    }
    Ok(())
}

/// PUT replaces the whole token configuration: objects left out return to their defaults.
async fn put_tokens(State(state): State<AppState>, Path(tenant): Path<String>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let body = Value::Object(parse_json_object(&body).map_err(|_| bad_request("The body must be a JSON object."))?);
    valid_claims(&body, "idTokenClaims")?;
    valid_claims(&body, "accessTokenClaims")?;
    let mut tokens = default_tokens();
    for key in ["access", "refresh", "anonymousAccess", "idTokenClaims", "accessTokenClaims"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
            tokens[key] = v.clone();
        }
    }
    if let Some(expires) = tokens.pointer("/access/expires_in").and_then(Value::as_i64) {
        if !(300..=86_400).contains(&expires) {
            return Err(bad_request("'access.expires_in' must be from 300 to 86400 seconds."));
        }
    }
    state.with_objects(|tx| {
        check_tenant(tx, &tenant)?;
        let mut config = config(tx, &tenant);
        config["tokens"] = tokens.clone();
        store_config(tx, &tenant, config);
        Ok(Json(tokens))
    })
}

fn user_key(tenant: &str, id: &str) -> String {
    format!("{tenant}/{id}")
}

/// A Cloud Directory user as App ID returns it (never a password).
fn presented_user(user: &Value) -> Value {
    let mut out = user.clone();
    if let Some(fields) = out.as_object_mut() {
        fields.retain(|k, _| !k.starts_with('_'));
    }
    out
}

fn primary_email(user: &Value) -> Option<String> {
    let emails = user["emails"].as_array()?;
    let primary = emails.iter().find(|e| e["primary"] == true).or(emails.first())?;
    primary["value"].as_str().map(str::to_lowercase)
}

/// The fields a create or update may carry, checked; `password` only noted as set.
fn user_fields(body: &Map<String, Value>, identity_field: &str, creating: bool) -> Result<Map<String, Value>, ApiError> {
    let emails = body.get("emails").and_then(Value::as_array).filter(|e| !e.is_empty());
    let Some(emails) = emails else { return Err(scim_error(StatusCode::BAD_REQUEST, "Missing emails", Some("invalidValue"))) };
    if emails.iter().any(|e| !e["value"].as_str().is_some_and(|v| v.contains('@'))) {
        return Err(scim_error(StatusCode::BAD_REQUEST, "Invalid email", Some("invalidValue")));
    }
    if creating && body.get("password").and_then(Value::as_str).is_none_or(|p| p.is_empty()) {
        return Err(scim_error(StatusCode::BAD_REQUEST, "Missing password", Some("invalidValue")));
    }
    if identity_field == "userName" && body.get("userName").and_then(Value::as_str).is_none_or(|u| u.is_empty()) {
        return Err(scim_error(StatusCode::BAD_REQUEST, "Missing userName", Some("invalidValue")));
    }
    if let Some(status) = body.get("status") {
        if !matches!(status.as_str(), Some("PENDING" | "CONFIRMED")) {
            return Err(scim_error(StatusCode::BAD_REQUEST, "status must be PENDING or CONFIRMED", Some("invalidValue")));
        }
    }
    let mut fields = Map::new();
    fields.insert("emails".into(), Value::Array(emails.clone()));
    for key in ["userName", "displayName", "active", "status", "name", "lockedUntil"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
            fields.insert(key.into(), v.clone());
        }
    }
    Ok(fields)
}

fn identity_field(tx: &mut Txn<'_>, tenant: &str) -> String {
    config(tx, tenant).pointer("/cloud_directory/config/identityField").and_then(Value::as_str).unwrap_or("email").to_string()
}

fn find_user_by_email<'a>(tx: &'a Txn<'_>, tenant: &str, email: &str, except: Option<&str>) -> Option<&'a Value> {
    let prefix = format!("{tenant}/");
    tx.iter_all(USERS)
        .filter(|(k, _)| k.starts_with(&prefix))
        .map(|(_, r)| &r.value)
        .find(|u| primary_email(u).as_deref() == Some(&email.to_lowercase()) && except.is_none_or(|id| u["id"] != id))
}

async fn sign_up(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let create_profile = match query.get("shouldCreateProfile").map(String::as_str) {
        Some("true") => true,
        Some("false") => false,
        _ => return Err(bad_request("The query parameter 'shouldCreateProfile' is required (true or false).")),
    };
    let body = parse_json_object(&body).map_err(|_| bad_request("The body must be a JSON object."))?;
    note_password(&state, &body, "password");
    let user = state.with_objects(|tx| {
        check_tenant(tx, &tenant)?;
        let field = identity_field(tx, &tenant);
        let fields = user_fields(&body, &field, true)?;
        let mut user = Value::Object(fields);
        let email = primary_email(&user).unwrap_or_default();
        if find_user_by_email(tx, &tenant, &email, None).is_some() {
            return Err(scim_error(StatusCode::CONFLICT, format!("A user with the email {email} already exists"), Some("uniqueness")));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let now = iso_timestamp(tx.now_ms());
        user["id"] = json!(id);
        if user.get("active").is_none() {
            user["active"] = json!(true);
        }
        if user.get("status").is_none() {
            user["status"] = json!("PENDING");
        }
        user["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User"]);
        user["idpType"] = json!("cloud_directory");
        user["meta"] = json!({"created": now, "lastModified": now, "resourceType": "User", "location": format!("/v1/{tenant}/Users/{id}")});
        user["_password_set_at"] = json!(now);
        if create_profile {
            let profile_id = uuid::Uuid::new_v4().to_string();
            user["_profile_id"] = json!(profile_id);
            let profile = json!({"id": profile_id, "email": email, "name": user["displayName"], "identities": [{"provider": "cloud_directory", "id": id}], "attributes": {}});
            tx.create(PROFILES, &user_key(&tenant, &profile_id), profile);
        }
        tx.create(USERS, &user_key(&tenant, &id), user.clone());
        Ok::<_, ApiError>(user)
    })?;
    Ok((StatusCode::CREATED, Json(presented_user(&user))).into_response())
}

fn user_not_found(id: &str) -> ApiError {
    scim_error(StatusCode::NOT_FOUND, format!("User not found: {id}"), None)
}

async fn list_users(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    state.with_objects(|tx| {
        check_tenant(tx, &tenant)?;
        let prefix = format!("{tenant}/");
        let wanted = query.get("query").map(|q| q.to_lowercase());
        let users: Vec<Value> = tx
            .iter_all(USERS)
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, r)| &r.value)
            .filter(|u| {
                wanted.as_ref().is_none_or(|q| {
                    primary_email(u).as_deref() == Some(q) || u["userName"].as_str().map(str::to_lowercase).as_ref() == Some(q)
                })
            })
            .map(presented_user)
            .collect();
        let start: usize = query.get("startIndex").and_then(|s| s.parse().ok()).unwrap_or(0);
        let count: usize = query.get("count").and_then(|s| s.parse().ok()).unwrap_or(100);
        let page: Vec<Value> = users.iter().skip(start).take(count).cloned().collect();
        Ok(Json(json!({"totalResults": users.len(), "itemsPerPage": page.len(), "Resources": page})))
    })
}

async fn get_user(State(state): State<AppState>, Path((tenant, id)): Path<(String, String)>) -> Result<Json<Value>, ApiError> {
    state.with_objects(|tx| {
        check_tenant(tx, &tenant)?;
        let user = tx.get(USERS, &user_key(&tenant, &id)).ok_or_else(|| user_not_found(&id))?;
        Ok(Json(presented_user(&user.value)))
    })
}

async fn update_user(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = parse_json_object(&body).map_err(|_| bad_request("The body must be a JSON object."))?;
    note_password(&state, &body, "password");
    state.with_objects(|tx| {
        check_tenant(tx, &tenant)?;
        let key = user_key(&tenant, &id);
        let current = tx.get(USERS, &key).ok_or_else(|| user_not_found(&id))?.value.clone();
        let field = identity_field(tx, &tenant);
        let fields = user_fields(&body, &field, false)?;
        let mut user = current.clone();
        // Fields the update leaves out are cleared, except the server's own.
        if let Some(obj) = user.as_object_mut() {
            for key in ["userName", "displayName", "name", "lockedUntil"] {
                obj.remove(key);
            }
        }
        for (k, v) in fields {
            user[k] = v;
        }
        let email = primary_email(&user).unwrap_or_default();
        if find_user_by_email(tx, &tenant, &email, Some(&id)).is_some() {
            return Err(scim_error(StatusCode::CONFLICT, format!("A user with the email {email} already exists"), Some("uniqueness")));
        }
        user["meta"]["lastModified"] = json!(iso_timestamp(tx.now_ms()));
        if body.get("password").and_then(Value::as_str).is_some_and(|p| !p.is_empty()) {
            user["_password_set_at"] = json!(iso_timestamp(tx.now_ms()));
        }
        tx.update(USERS, &key, user.clone());
        Ok(Json(presented_user(&user)))
    })
}

async fn delete_user(State(state): State<AppState>, Path((tenant, id)): Path<(String, String)>) -> Result<StatusCode, ApiError> {
    state.with_objects(|tx| {
        check_tenant(tx, &tenant)?;
        tx.remove(USERS, &user_key(&tenant, &id)).ok_or_else(|| user_not_found(&id))?;
        Ok(StatusCode::NO_CONTENT)
    })
}

/// Deletes the user and their profile.
async fn remove_user(State(state): State<AppState>, Path((tenant, id)): Path<(String, String)>) -> Result<StatusCode, ApiError> {
    state.with_objects(|tx| {
        check_tenant(tx, &tenant)?;
        let user = tx.remove(USERS, &user_key(&tenant, &id)).ok_or_else(|| user_not_found(&id))?;
        if let Some(profile) = user.value["_profile_id"].as_str() {
            tx.remove(PROFILES, &user_key(&tenant, profile));
        }
        Ok(StatusCode::NO_CONTENT)
    })
}

async fn change_password(State(state): State<AppState>, Path(tenant): Path<String>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let body = parse_json_object(&body).map_err(|_| bad_request("The body must be a JSON object."))?;
    note_password(&state, &body, "newPassword");
    let (Some(new_password), Some(uuid)) = (body.get("newPassword").and_then(Value::as_str), body.get("uuid").and_then(Value::as_str))
    else {
        return Err(bad_request("'newPassword' and 'uuid' are required."));
    };
    if new_password.is_empty() {
        return Err(bad_request("'newPassword' must not be empty."));
    }
    state.with_objects(|tx| {
        check_tenant(tx, &tenant)?;
        let key = user_key(&tenant, uuid);
        let mut user = tx.get(USERS, &key).ok_or_else(|| user_not_found(uuid))?.value.clone();
        user["_password_set_at"] = json!(iso_timestamp(tx.now_ms()));
        tx.update(USERS, &key, user.clone());
        Ok(Json(presented_user(&user)))
    })
}

/// A password the client sent is never stored with the user, only remembered for the leak tests.
fn note_password(state: &AppState, body: &Map<String, Value>, field: &str) {
    if let Some(password) = body.get(field).and_then(Value::as_str) {
        state.runtime().saw_credential("password", password);
    }
}

async fn userinfo(State(state): State<AppState>, Path((tenant, id)): Path<(String, String)>) -> Result<Json<Value>, ApiError> {
    state.with_objects(|tx| {
        check_tenant(tx, &tenant)?;
        let user = tx.get(USERS, &user_key(&tenant, &id)).ok_or_else(|| user_not_found(&id))?.value.clone();
        let profile_id = user["_profile_id"].as_str().ok_or_else(|| user_not_found(&id))?;
        let profile = tx.get(PROFILES, &user_key(&tenant, profile_id)).map(|r| r.value.clone()).unwrap_or_default();
        Ok(Json(json!({
            "sub": profile_id,
            "identities": [{"provider": "cloud_directory", "id": id, "idpUserInfo": presented_user(&user)}],
            "attributes": profile["attributes"],
        })))
    })
}

async fn search_users(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    state.with_objects(|tx| {
        check_tenant(tx, &tenant)?;
        let prefix = format!("{tenant}/");
        let email = query.get("email").map(|e| e.to_lowercase());
        let users: Vec<Value> = tx
            .iter_all(PROFILES)
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, r)| &r.value)
            .filter(|p| email.as_ref().is_none_or(|e| p["email"].as_str().map(str::to_lowercase).as_ref() == Some(e)))
            .map(|p| json!({"id": p["id"], "idp": "cloud_directory", "email": p["email"]}))
            .collect();
        Ok(Json(json!({"totalResults": users.len(), "itemsPerPage": users.len(), "requestOptions": {"startIndex": 0, "count": users.len()}, "users": users})))
    })
}

fn profile_not_found(id: &str) -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        body: json!({"error": "not_found", "error_description": format!("Profile {id} not found")}),
        headers: Vec::new(),
    }
}

async fn get_profile(State(state): State<AppState>, Path((tenant, id)): Path<(String, String)>) -> Result<Json<Value>, ApiError> {
    state.with_objects(|tx| {
        check_tenant(tx, &tenant)?;
        let profile = tx.get(PROFILES, &user_key(&tenant, &id)).ok_or_else(|| profile_not_found(&id))?;
        Ok(Json(profile.value.clone()))
    })
}

async fn put_profile(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = Value::Object(parse_json_object(&body).map_err(|_| bad_request("The body must be a JSON object."))?);
    // The SDK sends {"attributes"}; some docs show {"profile":{"attributes"}} (UNCERTAIN): both work.
    let attributes = body.get("attributes").or_else(|| body.pointer("/profile/attributes")).cloned();
    let Some(Value::Object(attributes)) = attributes else { return Err(bad_request("'attributes' is required and must be an object.")) };
    state.with_objects(|tx| {
        check_tenant(tx, &tenant)?;
        let key = user_key(&tenant, &id);
        let mut profile = tx.get(PROFILES, &key).ok_or_else(|| profile_not_found(&id))?.value.clone();
        profile["attributes"] = Value::Object(attributes);
        tx.update(PROFILES, &key, profile.clone());
        Ok(Json(profile))
    })
}

/// What the login simulation needs of an App ID user: the claims of their ID token, built from
/// their profile through the tenant's token configuration. None: no active user has this e-mail.
pub fn id_token_claims(tx: &mut Txn<'_>, tenant: &str, email: &str) -> Result<Map<String, Value>, String> {
    check_tenant(tx, tenant).map_err(|_| format!("the App ID instance {tenant} does not exist"))?;
    let user =
        find_user_by_email(tx, tenant, email, None).cloned().ok_or_else(|| format!("no Cloud Directory user has the e-mail {email}"))?;
    if user["active"] == false {
        return Err(format!("the Cloud Directory user {email} is not active"));
    }
    let profile =
        user["_profile_id"].as_str().and_then(|p| tx.get(PROFILES, &user_key(tenant, p))).map(|r| r.value.clone()).unwrap_or_default();
    let mut claims = Map::new();
    claims.insert("email".into(), json!(primary_email(&user).unwrap_or_default()));
    claims.insert("sub".into(), profile["id"].clone());
    let given = user.pointer("/name/givenName").and_then(Value::as_str).unwrap_or("notset");
    let family = user.pointer("/name/familyName").and_then(Value::as_str).unwrap_or("notset");
    claims.insert("given_name".into(), json!(given));
    claims.insert("family_name".into(), json!(family));
    if let Some(name) = user["displayName"].as_str() {
        claims.insert("name".into(), json!(name));
    }
    if let Some(user_name) = user["userName"].as_str() {
        claims.insert("preferred_username".into(), json!(user_name));
    }
    let tokens = config(tx, tenant)["tokens"].clone();
    for mapping in tokens["idTokenClaims"].as_array().into_iter().flatten() {
        if mapping["source"] != "attributes" {
            continue;
        }
        let Some(source) = mapping["sourceClaim"].as_str() else { continue };
        let destination = mapping["destinationClaim"].as_str().filter(|d| !d.is_empty()).unwrap_or(source);
        if let Some(value) = profile["attributes"].get(source) {
            claims.insert(destination.to_string(), value.clone());
        }
    }
    Ok(claims)
}
