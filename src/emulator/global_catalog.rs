//! Global Catalog (`/api/v1/...`): read-only, fixed data. It lists the `quantum-computing` service
//! and its plans, and is the one place the emulator keeps the quantum plans' names and ids
//! (Resource Controller checks `resource_plan_id` against [`QUANTUM_PLANS`]).
//!
//! Routes (paths absolute from the host, as on `globalcatalog.cloud.ibm.com`):
//! * `GET /api/v1?q=<text>&include=*` — search of top-level entries (the service);
//! * `GET /api/v1/{id}` — one entry;
//! * `GET /api/v1/{id}/{kind}` — the entry's children of `kind` (`plan`, or `*` for all).
//!
//! Lists page with `_offset` / `_limit` and answer `{offset,limit,count,resource_count,first,
//! next?,resources[]}`; `next` (a URL) is present only when more entries follow. Catalog reads need
//! no token on IBM; the emulator serves them with or without one.
//! Choices where IBM's behaviour is uncertain (documented in docs/emulator.md): `q` matches entry
//! names and ids by case-insensitive substring; `include` is accepted and ignored (entries are
//! always whole); errors use the platform shape.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::errors::ApiError;
use super::state::AppState;

/// Catalog id (`resource_id`) of the Qiskit Runtime service.
pub const QUANTUM_SERVICE_ID: &str = "b6049020-80f4-11eb-a0f7-e35ec9b4054f";
pub const QUANTUM_SERVICE_NAME: &str = "quantum-computing";

/// The quantum plans: (catalog name, plan id). The first four ids are IBM's (org-workflow §2.3);
/// the legacy `lite` and `paygo-standard` ids are not published, so these two are the emulator's own.
pub const QUANTUM_PLANS: [(&str, &str); 6] = [
    ("open", "850b21a7-71de-4e53-9441-1abdd202f35d"),
    ("pay-as-you-go", "5304b575-3cff-4455-90dc-ae4367762093"),
    ("flex", "53bde9d3-cdbb-46f5-a98f-60ebcadf7260"),
    ("premium", "7f666d17-7893-47d8-bf9d-2b2389fc4dfc"),
    ("lite", "0e7c3f5a-8d1b-4c2e-9f60-7a1b2c3d4e5f"),
    ("paygo-standard", "4b9d2e6f-1a3c-4e5d-8f7a-9b0c1d2e3f4a"),
];

const DEFAULT_LIMIT: usize = 200;
const MAX_LIMIT: usize = 200;
const REGIONS: [&str; 2] = ["us-east", "eu-de"];

/// The name of a quantum plan id.
pub fn quantum_plan_name(plan_id: &str) -> Option<&'static str> {
    QUANTUM_PLANS.iter().find(|(_, id)| *id == plan_id).map(|(name, _)| *name)
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1", get(search))
        .route("/api/v1/", get(search))
        .route("/api/v1/{id}", get(get_entry))
        .route("/api/v1/{id}/{kind}", get(list_children))
}

fn display_name(name: &str) -> String {
    match name {
        QUANTUM_SERVICE_NAME => "Qiskit Runtime".into(),
        "pay-as-you-go" => "Pay-As-You-Go".into(),
        "paygo-standard" => "Standard".into(),
        other => other
            .split('-')
            .map(|w| {
                let mut chars = w.chars();
                chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

fn service_entry(base: &str) -> Value {
    json!({
        "id": QUANTUM_SERVICE_ID,
        "name": QUANTUM_SERVICE_NAME,
        "kind": "service",
        "active": true,
        "disabled": false,
        "geo_tags": REGIONS,
        "tags": ["ibm_created", "rc_compatible"],
        "overview_ui": {"en": {"display_name": display_name(QUANTUM_SERVICE_NAME), "description": "Quantum computing services"}},
        "metadata": {"rc_compatible": true, "service": {"rc_provisionable": true, "iam_compatible": true, "bindable": false}},
        "catalog_crn": format!("crn:v1:bluemix:public:globalcatalog::::service:{QUANTUM_SERVICE_ID}"),
        "url": format!("{base}/api/v1/{QUANTUM_SERVICE_ID}"),
        "children_url": format!("{base}/api/v1/{QUANTUM_SERVICE_ID}/%2A"),
    })
}

fn plan_entry(base: &str, name: &str, id: &str) -> Value {
    json!({
        "id": id,
        "name": name,
        "kind": "plan",
        "parent_id": QUANTUM_SERVICE_ID,
        "active": true,
        "disabled": false,
        "geo_tags": if name == "open" { json!(["us-east"]) } else { json!(REGIONS) },
        "overview_ui": {"en": {"display_name": display_name(name), "description": format!("The {} plan.", display_name(name))}},
        "metadata": {"rc_compatible": true, "plan": {"allow_internal_users": true, "bindable": false}},
        "catalog_crn": format!("crn:v1:bluemix:public:globalcatalog::::plan:{id}"),
        "url": format!("{base}/api/v1/{id}"),
        "children_url": format!("{base}/api/v1/{id}/%2A"),
    })
}

fn plan_entries(base: &str) -> Vec<Value> {
    QUANTUM_PLANS.iter().map(|(name, id)| plan_entry(base, name, id)).collect()
}

fn entry_not_found(id: &str) -> ApiError {
    ApiError::platform(StatusCode::NOT_FOUND, "not_found", format!("Catalog entry '{id}' not found."))
}

/// One page of `entries`, with the catalog's paging fields; `path_and_query` builds the links.
fn page(entries: Vec<Value>, query: &HashMap<String, String>, link: impl Fn(usize, usize) -> String) -> Result<Json<Value>, ApiError> {
    let number = |key: &str, default: usize| -> Result<usize, ApiError> {
        match query.get(key) {
            None => Ok(default),
            Some(v) => v.parse::<usize>().map_err(|_| {
                ApiError::platform(StatusCode::BAD_REQUEST, "bad_request", format!("'{key}' must be a whole number, not '{v}'."))
            }),
        }
    };
    let offset = number("_offset", 0)?;
    let limit = number("_limit", DEFAULT_LIMIT)?.clamp(1, MAX_LIMIT);
    let total = entries.len();
    let resources: Vec<Value> = entries.into_iter().skip(offset).take(limit).collect();
    let mut body = json!({
        "offset": offset,
        "limit": limit,
        "count": resources.len(),
        "resource_count": total,
        "first": link(0, limit),
        "resources": resources,
    });
    if offset + limit < total {
        body["next"] = json!(link(offset + limit, limit));
    }
    Ok(Json(body))
}

fn extra_params(query: &HashMap<String, String>, keys: &[&str]) -> String {
    keys.iter()
        .filter_map(|k| query.get(*k).map(|v| format!("&{k}={}", url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>())))
        .collect()
}

async fn search(State(state): State<AppState>, Query(query): Query<HashMap<String, String>>) -> Result<Json<Value>, ApiError> {
    let base = state.base_url().to_string();
    let wanted = query.get("q").map(|q| q.trim().to_lowercase()).unwrap_or_default();
    let entries: Vec<Value> = [service_entry(&base)]
        .into_iter()
        .filter(|e| {
            wanted.is_empty()
                || wanted.split_whitespace().all(|w| {
                    let w = w.strip_prefix("name:").unwrap_or(w);
                    ["name", "id"].iter().any(|f| e[*f].as_str().is_some_and(|s| s.to_lowercase().contains(w)))
                })
        })
        .collect();
    let extra = extra_params(&query, &["q", "include"]);
    page(entries, &query, |offset, limit| format!("{base}/api/v1?_offset={offset}&_limit={limit}{extra}"))
}

async fn get_entry(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let base = state.base_url();
    if id == QUANTUM_SERVICE_ID {
        return Ok(Json(service_entry(base)));
    }
    QUANTUM_PLANS
        .iter()
        .find(|(_, plan_id)| *plan_id == id)
        .map(|(name, plan_id)| Json(plan_entry(base, name, plan_id)))
        .ok_or_else(|| entry_not_found(&id))
}

async fn list_children(
    State(state): State<AppState>,
    Path((id, kind)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let base = state.base_url().to_string();
    let children = if id == QUANTUM_SERVICE_ID {
        plan_entries(&base)
    } else if quantum_plan_name(&id).is_some() {
        // Deployments are not emulated: a plan has no children here.
        Vec::new()
    } else {
        return Err(entry_not_found(&id));
    };
    let children: Vec<Value> = children.into_iter().filter(|c| kind == "*" || c["kind"] == *kind).collect();
    let extra = extra_params(&query, &["include"]);
    let kind_segment = url::form_urlencoded::byte_serialize(kind.as_bytes()).collect::<String>();
    page(children, &query, |offset, limit| format!("{base}/api/v1/{id}/{kind_segment}?_offset={offset}&_limit={limit}{extra}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::{start, EmulatorConfig};

    async fn get(base: &str, path: &str) -> (u16, Value) {
        let resp =
            reqwest::Client::builder().no_proxy().build().expect("client").get(format!("{base}{path}")).send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("json"))
    }

    #[tokio::test]
    async fn plans_page_without_a_token() {
        let emu = start(EmulatorConfig::default()).await.expect("start");
        let base = emu.base_url.clone();
        let (status, first) = get(&base, &format!("/api/v1/{QUANTUM_SERVICE_ID}/plan?_limit=4")).await;
        assert_eq!(status, 200, "{first}");
        assert_eq!((first["count"].as_u64(), first["resource_count"].as_u64()), (Some(4), Some(6)));
        let next = first["next"].as_str().expect("next").strip_prefix(&base).expect("absolute").to_string();
        let (_, second) = get(&base, &next).await;
        assert_eq!(second["count"], 2);
        assert!(second.get("next").is_none(), "{second}");
        let names: Vec<&str> = first["resources"]
            .as_array()
            .into_iter()
            .chain(second["resources"].as_array())
            .flatten()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(names, QUANTUM_PLANS.iter().map(|(n, _)| *n).collect::<Vec<_>>());

        let (_, found) = get(&base, "/api/v1/?q=quantum-computing&include=*").await;
        assert_eq!(found["resources"][0]["id"], QUANTUM_SERVICE_ID);
        let (_, none) = get(&base, "/api/v1?q=cloud-object-storage").await;
        assert_eq!(none["resource_count"], 0);
        assert_eq!(get(&base, "/api/v1/nope/plan").await.0, 404);
        assert_eq!(get(&base, &format!("/api/v1/{}", QUANTUM_PLANS[4].1)).await.1["name"], "lite");
        emu.shutdown().await.expect("shutdown");
    }
}
