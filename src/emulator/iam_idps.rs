//! IAM Identity — identity providers (`/v1/idps/`), the account's login settings
//! (`/v2/loginsettings/{account_id}` and `…/idps/{idp_id}`) and identity limits
//! (`/v1/accounts/{account_id}/limits/identity`).
//!
//! IdPs are stored under [`IDPS`] (id = `idp_id`, which is also the realm ID), their secrets
//! kept in a private field and never returned; the account's setting for an IdP under
//! [`IDP_SETTINGS`] (id = `ACCOUNT/IDP_ID`); the alias under [`LOGIN_SETTINGS`] (id = account).
//!
//! Choices where IBM's behaviour is uncertain (docs/emulator.md):
//! * an `appid` IdP names its App ID instance in `properties.appid.instance_crn` (or
//!   `properties.appid.tenant_id`); flat `properties.instance_crn` / `properties.tenant_id` work too;
//! * GET returns `properties` but never `secrets`;
//! * the sixth IdP of an account is a 409 `idp_limit_exceeded`; a stale `If-Match` is a 409;
//! * an alias is required before the first IdP only when the admin setting
//!   `emulator_settings/iam_idps` has `"require_login_alias": true` (400 `login_alias_required`);
//! * one IdP is the default for login (`ui_default`): making another the default unsets it.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{json, Map, Value};

use super::appid;
use super::errors::{new_trace_id, parse_json_object, ApiError};
use super::iam_token::Caller;
use super::state::{etag_matches, iso_timestamp, AppState, Record, Txn};

pub const IDPS: &str = "idps";
pub const IDP_SETTINGS: &str = "idp_settings";
pub const LOGIN_SETTINGS: &str = "login_settings";
pub const SETTINGS_KIND: &str = "emulator_settings";
pub const SETTINGS_ID: &str = "iam_idps";
/// IdP references an account may have.
pub const IDP_LIMIT: usize = 5;
const TYPES: [&str; 3] = ["saml", "appid", "ldap"];
const STRATEGIES: [&str; 3] = ["STATIC", "DYNAMIC", "NEVER"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/idps/", get(list_idps).post(create_idp))
        .route("/v1/idps", get(list_idps).post(create_idp))
        .route("/v1/idps/{idp_id}", get(get_idp).put(update_idp).delete(delete_idp))
        .route("/v1/idps/{idp_id}/saml/metadata", get(sp_metadata).put(import_metadata))
        .route("/v2/loginsettings/{account_id}", get(get_login_settings).put(put_login_settings))
        .route("/v2/loginsettings/{account_id}/idps", get(list_idp_settings))
        .route(
            "/v2/loginsettings/{account_id}/idps/{idp_id}",
            get(get_idp_setting).post(add_idp_setting).put(update_idp_setting).delete(remove_idp_setting),
        )
        .route("/v1/accounts/{account_id}/limits/identity", get(limits))
}

fn identity_error(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        body: json!({
            "errors": [{"code": code, "message_code": code, "message": message.into()}],
            "status_code": status.as_u16().to_string(),
            "trace": new_trace_id(),
        }),
        headers: Vec::new(),
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    identity_error(StatusCode::BAD_REQUEST, "invalid_request", message)
}

fn idp_not_found(id: &str) -> ApiError {
    identity_error(StatusCode::NOT_FOUND, "not_found", format!("Identity provider '{id}' not found."))
}

fn check_account(caller: &Caller, account_id: &str) -> Result<(), ApiError> {
    if caller.account_id == account_id {
        Ok(())
    } else {
        Err(identity_error(StatusCode::FORBIDDEN, "forbidden", format!("You are not authorized to access account '{account_id}'.")))
    }
}

/// A realm ID: ten letters and digits, like those seen in login URLs (format UNCERTAIN).
fn new_realm_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    bytes.iter().take(10).map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}

/// The SP entity ID IAM presents to a SAML IdP (form taken from the SDK's mock, UNCERTAIN prefix).
pub fn sp_entity_id(account_id: &str, idp_id: &str) -> String {
    format!("crn:v1:bluemix:public:iam-identity::a/{account_id}::idp:{idp_id}")
}

/// The realm a dynamic rule names for this IdP.
pub fn realm_of(idp: &Value) -> String {
    let id = idp["idp_id"].as_str().unwrap_or_default();
    if idp["type"] == "appid" {
        format!("appid://{id}")
    } else {
        sp_entity_id(idp["account_id"].as_str().unwrap_or_default(), id)
    }
}

/// The IdP a realm names, if any.
pub fn idp_for_realm(tx: &Txn<'_>, realm: &str) -> Option<Value> {
    tx.iter_visible(IDPS).map(|(_, r)| r.value.clone()).find(|idp| realm_of(idp) == realm)
}

/// The App ID tenant an `appid` IdP's properties name (shape UNCERTAIN: see the module doc).
pub fn appid_tenant(properties: &Value) -> Option<String> {
    let nested = properties.get("appid").unwrap_or(properties);
    if let Some(tenant) = nested["tenant_id"].as_str().filter(|t| !t.is_empty()) {
        return Some(tenant.to_string());
    }
    // crn:v1:bluemix:public:appid:REGION:a/ACCOUNT:GUID::
    let crn = nested["instance_crn"].as_str()?;
    crn.split(':').nth(7).filter(|g| !g.is_empty()).map(str::to_string)
}

fn presented(record: &Record) -> Value {
    let mut idp = record.value.clone();
    if let Some(fields) = idp.as_object_mut() {
        fields.retain(|k, _| !k.starts_with('_'));
    }
    idp["entity_tag"] = json!(record.etag);
    idp
}

fn with_etag(status: StatusCode, record: &Record) -> Response {
    (status, [(header::ETAG, record.etag_header())], Json(presented(record))).into_response()
}

fn account_idps<'a>(tx: &'a Txn<'_>, account_id: &'a str) -> impl Iterator<Item = &'a Record> + 'a {
    tx.iter_visible(IDPS).filter(move |(_, r)| r.value["account_id"] == account_id).map(|(_, r)| r)
}

async fn list_idps(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let account_id =
        query.get("account_id").filter(|a| !a.is_empty()).ok_or_else(|| invalid("The query parameter 'account_id' is required."))?;
    check_account(&caller, account_id)?;
    let idps: Vec<Value> = state.with_objects(|tx| account_idps(tx, account_id).map(presented).collect());
    Ok(Json(json!({ "idps": idps })))
}

/// Checks the type's properties and secrets; for `appid`, that the instance exists.
fn check_config(tx: &Txn<'_>, kind: &str, properties: &Value, secrets: &Value) -> Result<(), ApiError> {
    match kind {
        "appid" => {
            let tenant = appid_tenant(properties)
                .ok_or_else(|| invalid("An appid identity provider needs 'properties.appid.instance_crn' naming the App ID instance."))?;
            appid::tenant_region(tx, &tenant).ok_or_else(|| invalid(format!("App ID instance '{tenant}' not found in the account.")))?;
        }
        "saml" => {
            let xml_import = properties.pointer("/idp/xml_import") == Some(&json!(true));
            if !xml_import {
                for field in ["entity_id", "redirect_binding_url"] {
                    if properties.pointer(&format!("/idp/{field}")).and_then(Value::as_str).is_none_or(|v| v.is_empty()) {
                        return Err(invalid(format!("A SAML identity provider needs 'properties.idp.{field}' (or metadata XML).")));
                    }
                }
                let signing = secrets.pointer("/idp/signing").and_then(Value::as_array);
                if signing.is_none_or(|s| s.is_empty()) {
                    return Err(invalid(
                        "A SAML identity provider needs 'secrets.idp.signing' with its primary certificate (or metadata XML).",
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn requires_alias(tx: &Txn<'_>, account_id: &str) -> bool {
    let required = tx.get(SETTINGS_KIND, SETTINGS_ID).is_some_and(|r| r.value["require_login_alias"] == true);
    let alias = tx.get(LOGIN_SETTINGS, account_id).and_then(|r| r.value["alias"].as_str().map(str::to_string)).unwrap_or_default();
    required && alias.is_empty()
}

async fn create_idp(State(state): State<AppState>, Extension(caller): Extension<Caller>, body: Bytes) -> Result<Response, ApiError> {
    let body = parse_json_object(&body).map_err(|_| invalid("The request body must be a JSON object."))?;
    let account_id = body.get("account_id").and_then(Value::as_str).unwrap_or_default().to_string();
    check_account(&caller, &account_id)?;
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| invalid("The field 'name' is required."))?;
    let kind = body
        .get("type")
        .and_then(Value::as_str)
        .filter(|t| TYPES.contains(t))
        .ok_or_else(|| invalid(format!("The field 'type' is required: one of {}.", TYPES.join(", "))))?;
    let properties = body.get("properties").cloned().unwrap_or(json!({}));
    let secrets = body.get("secrets").cloned().unwrap_or(json!({}));
    let active = body.get("active").and_then(Value::as_bool).unwrap_or(true);
    let record = state.with_objects(|tx| {
        if requires_alias(tx, &account_id) {
            return Err(identity_error(
                StatusCode::BAD_REQUEST,
                "login_alias_required",
                "Enable login settings by choosing an account alias before adding an identity provider.",
            ));
        }
        let existing: Vec<String> =
            account_idps(tx, &account_id).map(|r| r.value["name"].as_str().unwrap_or_default().to_string()).collect();
        if existing.len() >= IDP_LIMIT {
            return Err(identity_error(
                StatusCode::CONFLICT,
                "idp_limit_exceeded",
                format!("The account has reached its limit of {IDP_LIMIT} identity providers."),
            ));
        }
        check_config(tx, kind, &properties, &secrets)?;
        let idp_id = new_realm_id();
        let now = iso_timestamp(tx.now_ms());
        let idp = json!({
            "idp_id": idp_id, "account_id": account_id, "name": name, "type": kind, "active": active,
            "properties": properties, "share_scope": body.get("share_scope").cloned().unwrap_or(json!([])),
            "created_at": now, "modified_at": now, "_secrets": secrets,
        });
        Ok(tx.create(IDPS, &idp_id, idp))
    })?;
    Ok(with_etag(StatusCode::CREATED, &record))
}

async fn get_idp(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(idp_id): Path<String>,
) -> Result<Response, ApiError> {
    let record = state.with_objects(|tx| tx.get_visible(IDPS, &idp_id).cloned()).ok_or_else(|| idp_not_found(&idp_id))?;
    check_account(&caller, record.value["account_id"].as_str().unwrap_or_default())?;
    Ok(with_etag(StatusCode::OK, &record))
}

async fn update_idp(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(idp_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let if_match = headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| invalid("The header 'If-Match' is required: the entity_tag of the identity provider."))?;
    let body = parse_json_object(&body).map_err(|_| invalid("The request body must be a JSON object."))?;
    let record = state.with_objects(|tx| {
        let current = tx.get_visible(IDPS, &idp_id).cloned().ok_or_else(|| idp_not_found(&idp_id))?;
        check_account(&caller, current.value["account_id"].as_str().unwrap_or_default())?;
        if !etag_matches(&if_match, &current.etag) {
            return Err(identity_error(
                StatusCode::CONFLICT,
                "conflict",
                "The identity provider was changed since it was read (stale If-Match).",
            ));
        }
        let mut idp = current.value.clone();
        if let Some(name) = body.get("name") {
            idp["name"] =
                json!(name.as_str().filter(|n| !n.trim().is_empty()).ok_or_else(|| invalid("'name' must be a non-empty string."))?);
        }
        if let Some(active) = body.get("active") {
            idp["active"] = json!(active.as_bool().ok_or_else(|| invalid("'active' must be a boolean."))?);
        }
        if let Some(properties) = body.get("properties").filter(|p| !p.is_null()) {
            idp["properties"] = properties.clone();
        }
        if let Some(secrets) = body.get("secrets").filter(|s| s.as_object().is_some_and(|o| !o.is_empty())) {
            idp["_secrets"] = secrets.clone();
        }
        let kind = idp["type"].as_str().unwrap_or_default().to_string();
        check_config(tx, &kind, &idp["properties"], &idp["_secrets"])?;
        idp["modified_at"] = json!(iso_timestamp(tx.now_ms()));
        tx.update(IDPS, &idp_id, idp).ok_or_else(|| idp_not_found(&idp_id))
    })?;
    Ok(with_etag(StatusCode::OK, &record))
}

async fn delete_idp(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(idp_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.with_objects(|tx| {
        let current = tx.get_visible(IDPS, &idp_id).cloned().ok_or_else(|| idp_not_found(&idp_id))?;
        let account_id = current.value["account_id"].as_str().unwrap_or_default().to_string();
        check_account(&caller, &account_id)?;
        tx.remove(IDPS, &idp_id);
        tx.remove(IDP_SETTINGS, &format!("{account_id}/{idp_id}"));
        Ok(StatusCode::NO_CONTENT)
    })
}

/// The SP metadata a campus IdP's admin uploads.
async fn sp_metadata(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(idp_id): Path<String>,
) -> Result<Response, ApiError> {
    let record = state.with_objects(|tx| tx.get_visible(IDPS, &idp_id).cloned()).ok_or_else(|| idp_not_found(&idp_id))?;
    let account_id = record.value["account_id"].as_str().unwrap_or_default();
    check_account(&caller, account_id)?;
    if record.value["type"] != "saml" {
        return Err(invalid("Only SAML identity providers have SAML metadata."));
    }
    let entity = sp_entity_id(account_id, &idp_id);
    let xml = format!(
        concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
            "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"{entity}\">\n",
            "  <md:SPSSODescriptor WantAssertionsSigned=\"true\" protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\n",
            "    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>\n",
            "    <md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"https://iam.cloud.ibm.com/identity/callback/{realm}/saml\" index=\"0\"/>\n",
            "  </md:SPSSODescriptor>\n",
            "</md:EntityDescriptor>\n"
        ),
        entity = entity,
        realm = idp_id
    );
    Ok(([(header::CONTENT_TYPE, "text/xml")], xml).into_response())
}

/// The text of the first attribute `name="…"` after `after` in `xml`.
fn xml_attribute(xml: &str, after: &str, name: &str) -> Option<String> {
    let from = xml.find(after)?;
    let rest = &xml[from..];
    let start = rest.find(&format!("{name}=\""))? + name.len() + 2;
    let end = rest[start..].find('"')?;
    Some(rest[start..start + end].to_string())
}

/// The text of every `<…X509Certificate>` element.
fn certificates(xml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(open) = rest.find("X509Certificate>") {
        let after = &rest[open + "X509Certificate>".len()..];
        let Some(close) = after.find("</") else { break };
        let text: String = after[..close].split_whitespace().collect();
        if !text.is_empty() {
            out.push(text);
        }
        rest = &after[close..];
    }
    out
}

/// Takes the campus IdP's metadata.xml: entity ID, SSO URL and signing certificates.
async fn import_metadata(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(idp_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let xml = String::from_utf8_lossy(&body).to_string();
    let entity_id =
        xml_attribute(&xml, "EntityDescriptor", "entityID").ok_or_else(|| invalid("The metadata has no EntityDescriptor entityID."))?;
    let sso_url = xml_attribute(&xml, "SingleSignOnService", "Location")
        .ok_or_else(|| invalid("The metadata has no SingleSignOnService Location."))?;
    let certs = certificates(&xml);
    if certs.is_empty() {
        return Err(invalid("The metadata has no signing certificate (X509Certificate)."));
    }
    let parse_only = query.get("parse_only").is_some_and(|p| p == "true");
    let record = state.with_objects(|tx| {
        let current = tx.get_visible(IDPS, &idp_id).cloned().ok_or_else(|| idp_not_found(&idp_id))?;
        check_account(&caller, current.value["account_id"].as_str().unwrap_or_default())?;
        if current.value["type"] != "saml" {
            return Err(invalid("Only SAML identity providers take SAML metadata."));
        }
        let mut idp = current.value.clone();
        idp["properties"]["idp"] = json!({"entity_id": entity_id, "redirect_binding_url": sso_url, "xml_import": true});
        let signing: Vec<Value> =
            certs.iter().enumerate().map(|(i, c)| json!({"value": c, "type": if i == 0 { "primary" } else { "secondary" }})).collect();
        idp["_secrets"] = json!({"idp": {"signing": signing}});
        if parse_only {
            return Ok(Record { value: idp, ..current });
        }
        idp["modified_at"] = json!(iso_timestamp(tx.now_ms()));
        tx.update(IDPS, &idp_id, idp).ok_or_else(|| idp_not_found(&idp_id))
    })?;
    Ok(with_etag(StatusCode::OK, &record))
}

async fn get_login_settings(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(account_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_account(&caller, &account_id)?;
    let alias = state.with_objects(|tx| tx.get(LOGIN_SETTINGS, &account_id).map(|r| r.value["alias"].clone()));
    Ok(Json(json!({"alias": alias.unwrap_or(Value::Null)})))
}

fn valid_alias(alias: &str) -> bool {
    (3..=64).contains(&alias.len())
        && alias.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !alias.starts_with('-')
        && !alias.ends_with('-')
}

async fn put_login_settings(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(account_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    check_account(&caller, &account_id)?;
    let body = parse_json_object(&body).map_err(|_| invalid("The request body must be a JSON object."))?;
    let alias = body.get("alias").and_then(Value::as_str).ok_or_else(|| invalid("The field 'alias' is required."))?.to_string();
    if !alias.is_empty() && !valid_alias(&alias) {
        return Err(invalid("The alias must be 3 to 64 lowercase letters, digits and hyphens."));
    }
    state.with_objects(|tx| {
        let taken = tx.iter_all(LOGIN_SETTINGS).any(|(acct, r)| *acct != account_id && !alias.is_empty() && r.value["alias"] == *alias);
        if taken {
            return Err(identity_error(StatusCode::CONFLICT, "alias_taken", format!("The alias '{alias}' is used by another account.")));
        }
        let value = json!({"alias": alias});
        if tx.update(LOGIN_SETTINGS, &account_id, value.clone()).is_none() {
            tx.create(LOGIN_SETTINGS, &account_id, value);
        }
        Ok(Json(json!({"alias": alias})))
    })
}

fn setting_key(account_id: &str, idp_id: &str) -> String {
    format!("{account_id}/{idp_id}")
}

fn presented_setting(setting: &Value, idp: &Value) -> Value {
    let mut out = setting.clone();
    out["idp_id"] = idp["idp_id"].clone();
    out["owner_account"] = idp["account_id"].clone();
    out["owner_account_name"] = json!("");
    out["idp_name"] = idp["name"].clone();
    out["idp_type"] = idp["type"].clone();
    out
}

fn setting_not_found(idp_id: &str) -> ApiError {
    identity_error(StatusCode::NOT_FOUND, "not_found", format!("The account has no login setting for identity provider '{idp_id}'."))
}

async fn list_idp_settings(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(account_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_account(&caller, &account_id)?;
    let prefix = format!("{account_id}/");
    let idps: Vec<Value> = state.with_objects(|tx| {
        tx.iter_visible(IDP_SETTINGS)
            .filter(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(_, r)| tx.get(IDPS, r.value["idp_id"].as_str()?).map(|idp| presented_setting(&r.value, &idp.value)))
            .collect()
    });
    Ok(Json(json!({ "idps": idps })))
}

async fn get_idp_setting(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((account_id, idp_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    check_account(&caller, &account_id)?;
    state.with_objects(|tx| {
        let idp = tx.get_visible(IDPS, &idp_id).ok_or_else(|| idp_not_found(&idp_id))?;
        let setting = tx.get_visible(IDP_SETTINGS, &setting_key(&account_id, &idp_id)).ok_or_else(|| setting_not_found(&idp_id))?;
        Ok(Json(presented_setting(&setting.value, &idp.value)))
    })
}

fn setting_fields(body: &Map<String, Value>, all_required: bool) -> Result<Map<String, Value>, ApiError> {
    let mut out = Map::new();
    match body.get("cloud_user_strategy").and_then(Value::as_str) {
        Some(s) if STRATEGIES.contains(&s) => {
            out.insert("cloud_user_strategy".into(), json!(s));
        }
        Some(s) => return Err(invalid(format!("'cloud_user_strategy' must be one of {}, not '{s}'.", STRATEGIES.join(", ")))),
        None if all_required => return Err(invalid("The field 'cloud_user_strategy' is required.")),
        None => {}
    }
    for field in ["active", "ui_default"] {
        match body.get(field) {
            Some(Value::Bool(b)) => {
                out.insert(field.into(), json!(b));
            }
            None if !all_required => {}
            _ => return Err(invalid(format!("The field '{field}' is required and must be a boolean."))),
        }
    }
    Ok(out)
}

fn write_setting(tx: &mut Txn<'_>, account_id: &str, idp_id: &str, fields: Map<String, Value>, creating: bool) -> Result<Value, ApiError> {
    let idp = tx.get_visible(IDPS, idp_id).cloned().ok_or_else(|| idp_not_found(idp_id))?;
    let key = setting_key(account_id, idp_id);
    let mut setting = match tx.get_visible(IDP_SETTINGS, &key) {
        Some(_) if creating => {
            return Err(identity_error(
                StatusCode::CONFLICT,
                "conflict",
                format!("The account already has a login setting for '{idp_id}'."),
            ))
        }
        Some(r) => r.value.clone(),
        None if creating => json!({"idp_id": idp_id}),
        None => return Err(setting_not_found(idp_id)),
    };
    let becomes_default = fields.get("ui_default") == Some(&json!(true));
    for (k, v) in fields {
        setting[k] = v;
    }
    if becomes_default {
        let prefix = format!("{account_id}/");
        let others: Vec<(String, Value)> = tx
            .iter_all(IDP_SETTINGS)
            .filter(|(k, r)| k.starts_with(&prefix) && **k != key && r.value["ui_default"] == true)
            .map(|(k, r)| (k.clone(), r.value.clone()))
            .collect();
        for (k, mut other) in others {
            other["ui_default"] = json!(false);
            tx.update(IDP_SETTINGS, &k, other);
        }
    }
    if tx.update(IDP_SETTINGS, &key, setting.clone()).is_none() {
        tx.create(IDP_SETTINGS, &key, setting.clone());
    }
    Ok(presented_setting(&setting, &idp.value))
}

async fn add_idp_setting(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((account_id, idp_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    check_account(&caller, &account_id)?;
    let fields = setting_fields(&parse_json_object(&body)?, true)?;
    state.with_objects(|tx| write_setting(tx, &account_id, &idp_id, fields, true)).map(Json)
}

async fn update_idp_setting(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((account_id, idp_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    check_account(&caller, &account_id)?;
    let fields = setting_fields(&parse_json_object(&body)?, false)?;
    state.with_objects(|tx| write_setting(tx, &account_id, &idp_id, fields, false)).map(Json)
}

async fn remove_idp_setting(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((account_id, idp_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    check_account(&caller, &account_id)?;
    state.with_objects(|tx| {
        tx.remove(IDP_SETTINGS, &setting_key(&account_id, &idp_id)).ok_or_else(|| setting_not_found(&idp_id))?;
        Ok(StatusCode::NO_CONTENT)
    })
}

async fn limits(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(account_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_account(&caller, &account_id)?;
    let count = state.with_objects(|tx| account_idps(tx, &account_id).count());
    Ok(Json(json!({"idps": {"limit": IDP_LIMIT, "count": count}})))
}

/// The onboarding mode (`cloud_user_strategy`) of an IdP in its account; STATIC when the account
/// has no setting for it (IAM's default).
pub fn onboarding(tx: &Txn<'_>, account_id: &str, idp_id: &str) -> (String, bool) {
    match tx.get(IDP_SETTINGS, &setting_key(account_id, idp_id)) {
        Some(r) => (r.value["cloud_user_strategy"].as_str().unwrap_or("STATIC").to_string(), r.value["active"] != false),
        None => ("STATIC".to_string(), true),
    }
}
