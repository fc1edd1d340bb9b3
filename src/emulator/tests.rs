//! End-to-end tests over a real listener on 127.0.0.1.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::*;

const APIKEY_GRANT: &str = "urn:ibm:params:oauth:grant-type:apikey";

/// A started emulator with an HTTP client and a token; shared by the API modules' tests.
pub(crate) struct Harness {
    emulator: RunningEmulator,
    http: reqwest::Client,
    token: String,
}

impl Harness {
    pub(crate) async fn start(cfg: EmulatorConfig) -> Self {
        let emulator = start(cfg).await.expect("emulator starts");
        let http = reqwest::Client::builder().no_proxy().build().expect("client");
        let mut harness = Harness { emulator, http, token: String::new() };
        let (status, body, _) = harness.token_request(&[("grant_type", APIKEY_GRANT), ("apikey", "good-key")]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        harness.token = body["access_token"].as_str().expect("token").to_string();
        harness
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.emulator.base_url, path)
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let response = self
            .http
            .post(self.url("/identity/token"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("request");
        split(response).await
    }

    /// Authenticated request with optional JSON body and extra headers.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(&self.token);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        split(request.send().await.expect("request")).await
    }

    pub(crate) async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let (status, body, _) = split(request.send().await.expect("request")).await;
        (status, body)
    }

    pub(crate) fn account(&self) -> String {
        self.emulator.state.account_id().to_string()
    }

    async fn create_role(&self, name: &str, actions: &[&str]) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let body = json!({
            "name": name,
            "display_name": format!("{name} display"),
            "actions": actions,
            "account_id": self.account(),
            "service_name": "quantum-computing",
            "description": "test role",
        });
        self.call(Method::POST, "/v2/roles", Some(body), &[]).await
    }
}

async fn split(response: reqwest::Response) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, body, headers)
}

fn etag_of(headers: &reqwest::header::HeaderMap) -> String {
    headers.get("etag").and_then(|v| v.to_str().ok()).expect("ETag header").to_string()
}

fn keyed_config() -> EmulatorConfig {
    EmulatorConfig { api_keys: vec!["good-key".into()], ..EmulatorConfig::default() }
}

#[tokio::test]
async fn token_success_and_errors() {
    let h = Harness::start(keyed_config()).await;
    let (status, body, _) = h.token_request(&[("grant_type", APIKEY_GRANT), ("apikey", "good-key"), ("response_type", "cloud_iam")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["refresh_token"], "not_supported");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "ibm openid");
    assert_eq!(body["access_token"].as_str().unwrap().split('.').count(), 3);

    let (status, body, _) = h.token_request(&[("grant_type", APIKEY_GRANT), ("apikey", "secret-wrong-key")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errorCode"], "BXNIM0415E");
    assert_eq!(body["errorMessage"], "Provided API key could not be found.");
    assert!(body["context"]["requestId"].is_string());
    assert!(!body.to_string().contains("secret-wrong-key"), "key must never be echoed");

    let (status, body, _) = h.token_request(&[("grant_type", "password"), ("apikey", "good-key")]).await;
    assert_eq!((status, body["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("BXNIM0109E")));
    let (status, body, _) = h.token_request(&[("grant_type", APIKEY_GRANT)]).await;
    assert_eq!((status, body["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("BXNIM0109E")));
}

#[tokio::test]
async fn any_key_accepted_without_configured_keys() {
    let h = Harness::start(EmulatorConfig::default()).await;
    let (status, _, _) = h.token_request(&[("grant_type", APIKEY_GRANT), ("apikey", "whatever")]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = h.token_request(&[("grant_type", APIKEY_GRANT), ("apikey", "")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn api_routes_require_a_valid_token() {
    let h = Harness::start(keyed_config()).await;
    let response = h.http.get(h.url("/v2/roles")).send().await.unwrap();
    let (status, body, _) = split(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["errors"][0]["code"], "invalid_token");
    assert_eq!(body["status_code"], 401);

    let response = h.http.get(h.url("/v2/roles")).bearer_auth("a.b.c").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let (status, _, _) = h.call(Method::GET, "/v2/roles?service_name=quantum-computing", None, &[]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn expired_tokens_are_rejected() {
    let h = Harness::start(EmulatorConfig { token_lifetime_secs: 0, ..keyed_config() }).await;
    let (status, body, _) = h.call(Method::GET, "/v2/roles", None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["errors"][0]["code"], "invalid_token");
}

#[tokio::test]
async fn list_builtin_roles() {
    let h = Harness::start(keyed_config()).await;
    let path = format!("/v2/roles?account_id={}&service_name=quantum-computing", h.account());
    let (status, body, _) = h.call(Method::GET, &path, None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["system_roles"].as_array().unwrap().len(), 4);
    assert_eq!(body["service_roles"].as_array().unwrap().len(), 3);
    assert_eq!(body["custom_roles"], json!([]));

    let (_, body, _) = h.call(Method::GET, "/v2/roles?service_name=other-service", None, &[]).await;
    assert_eq!(body["service_roles"], json!([]));
    assert_eq!(body["system_roles"], json!([]));
}

#[tokio::test]
async fn custom_role_lifecycle() {
    let h = Harness::start(keyed_config()).await;
    let (status, role, headers) = h.create_role("QuantumUser", &["quantum-computing.job.read"]).await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    let id = role["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32);
    assert_eq!(role["crn"], format!("crn:v1:ibmcloud:public:iam-access-management::a/{}::customRole:QuantumUser", h.account()));
    assert_eq!(role["href"], format!("{}/v2/roles/{id}", h.emulator.base_url));
    assert!(role["created_by_id"].as_str().unwrap().starts_with("IBMid-"));
    let first_etag = etag_of(&headers);

    // Duplicate name → 409 with the existing role and its etag.
    let (status, body, _) = h.create_role("QuantumUser", &["quantum-computing.job.create"]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["errors"][0]["code"], "role_conflict_error");
    assert_eq!(body["errors"][0]["details"]["conflicts_with"]["role"]["id"], id.as_str());
    assert_eq!(body["errors"][0]["details"]["conflicts_with"]["etag"], first_etag.trim_matches('"'));

    let (status, _, headers) = h.call(Method::GET, &format!("/v2/roles/{id}"), None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(etag_of(&headers), first_etag);

    // PUT: If-Match required, must be current, then succeeds with a new ETag.
    let update = json!({"display_name": "Renamed", "actions": ["quantum-computing.job.read", "quantum-computing.job.create"]});
    let path = format!("/v2/roles/{id}");
    let (status, _, _) = h.call(Method::PUT, &path, Some(update.clone()), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body, _) = h.call(Method::PUT, &path, Some(update.clone()), &[("If-Match", "\"1-stale\"")]).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(body["errors"][0]["code"], "precondition_failed");
    let (status, body, headers) = h.call(Method::PUT, &path, Some(update), &[("If-Match", first_etag.trim_matches('"'))]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["display_name"], "Renamed");
    assert_ne!(etag_of(&headers), first_etag);
    assert!(etag_of(&headers).starts_with("\"2-"));

    // Visible in the list filtered by account and service.
    let list_path = format!("/v2/roles?account_id={}&service_name=quantum-computing", h.account());
    let (_, list, _) = h.call(Method::GET, &list_path, None, &[]).await;
    assert_eq!(list["custom_roles"][0]["id"], id.as_str());

    let (status, _, _) = h.call(Method::DELETE, &path, None, &[]).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body, _) = h.call(Method::GET, &path, None, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["errors"][0]["code"], "role_not_found");
    let (status, _, _) = h.call(Method::DELETE, &path, None, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn custom_role_validation() {
    let h = Harness::start(keyed_config()).await;
    for (name, actions) in
        [("lowercase", vec!["quantum-computing.job.read"]), ("Good", vec![]), ("Good", vec!["quantum-computing.job.teleport"])]
    {
        let (status, body, _) = h.create_role(name, &actions).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name} {actions:?}");
        assert_eq!(body["errors"][0]["code"], "invalid_body");
    }
    let (_, body, _) = h.create_role("Good", &["quantum-computing.job.teleport"]).await;
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("quantum-computing.job.teleport"));

    let (status, _, _) = h.call(Method::POST, "/v2/roles", Some(json!({"name": "Good"})), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let response = h.http.post(h.url("/v2/roles")).bearer_auth(&h.token).body("not json").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn fault_queue_and_request_counts() {
    let h = Harness::start(keyed_config()).await;
    let (status, _) = h
        .admin(Method::POST, "/_emulator/faults", Some(json!({"route": "POST /v2/roles", "status": 429, "count": 2, "retry_after": "1"})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for _ in 0..2 {
        let (status, body, headers) = h.create_role("Faulty", &["quantum-computing.job.read"]).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(body["errors"][0]["code"], "too_many_requests");
        assert_eq!(headers.get("retry-after").unwrap(), "1");
    }
    // Other routes are unaffected; the third create goes through.
    let (status, _, _) = h.call(Method::GET, "/v2/roles", None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = h.create_role("Faulty", &["quantum-computing.job.read"]).await;
    assert_eq!(status, StatusCode::CREATED);

    // A fault without route hits the next request of any kind, including the token endpoint.
    h.admin(Method::POST, "/_emulator/faults", Some(json!({"status": 503}))).await;
    let (status, body, _) = h.token_request(&[("grant_type", APIKEY_GRANT), ("apikey", "good-key")]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body["errorCode"].is_string());

    let (_, counts) = h.admin(Method::GET, "/_emulator/requests", None).await;
    assert_eq!(counts["counts"]["POST /v2/roles"], 3);
    assert_eq!(counts["counts"]["GET /v2/roles"], 1);
    assert_eq!(counts["counts"]["POST /identity/token"], 2);
    assert_eq!(counts["total"], 6);

    h.admin(Method::POST, "/_emulator/faults", Some(json!({"status": 500, "count": 5}))).await;
    let (status, _) = h.admin(Method::DELETE, "/_emulator/faults", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = h.call(Method::GET, "/v2/roles", None, &[]).await;
    assert_eq!(status, StatusCode::OK);

    h.admin(Method::POST, "/_emulator/requests/reset", None).await;
    let (_, counts) = h.admin(Method::GET, "/_emulator/requests", None).await;
    assert_eq!(counts, json!({"total": 0, "counts": {}}));
}

#[tokio::test]
async fn consistency_lag_hides_new_roles() {
    let h = Harness::start(keyed_config()).await;
    let (status, lag) = h.admin(Method::PUT, "/_emulator/lag", Some(json!({"seconds": 0.3}))).await;
    assert_eq!((status, lag["seconds"].as_f64()), (StatusCode::OK, Some(0.3)));
    let (status, role, _) = h.create_role("Laggy", &["quantum-computing.job.read"]).await;
    assert_eq!(status, StatusCode::CREATED);
    let path = format!("/v2/roles/{}", role["id"].as_str().unwrap());
    let (status, _, _) = h.call(Method::GET, &path, None, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list, _) = h.call(Method::GET, "/v2/roles", None, &[]).await;
    assert_eq!(list["custom_roles"], json!([]));
    // The name is already taken even though the role is not visible yet.
    let (status, _, _) = h.create_role("Laggy", &["quantum-computing.job.read"]).await;
    assert_eq!(status, StatusCode::CONFLICT);

    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, _, _) = h.call(Method::GET, &path, None, &[]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn admin_objects_drift_and_delete() {
    let h = Harness::start(keyed_config()).await;
    let (_, role, headers) = h.create_role("Drifty", &["quantum-computing.job.read"]).await;
    let id = role["id"].as_str().unwrap();
    let before = etag_of(&headers);

    let (status, list) = h.admin(Method::GET, "/_emulator/objects/roles", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["objects"][0]["id"], id);

    let object_path = format!("/_emulator/objects/roles/{id}");
    let (status, patched) =
        h.admin(Method::PATCH, &object_path, Some(json!({"display_name": "Changed elsewhere", "description": null}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(patched["revision"], 2);

    let (_, role, headers) = h.call(Method::GET, &format!("/v2/roles/{id}"), None, &[]).await;
    assert_eq!(role["display_name"], "Changed elsewhere");
    assert!(role.get("description").is_none());
    assert_ne!(etag_of(&headers), before);

    let (status, _) = h.admin(Method::DELETE, &object_path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = h.admin(Method::GET, &object_path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = h.call(Method::GET, &format!("/v2/roles/{id}"), None, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, health) = h.admin(Method::GET, "/_emulator/health", None).await;
    assert_eq!((status, health), (StatusCode::OK, json!({"ok": true})));
}

#[tokio::test]
async fn state_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = EmulatorConfig { state_file: Some(dir.path().join("state.json")), ..keyed_config() };
    let first = Harness::start(cfg.clone()).await;
    let (_, role, headers) = first.create_role("Durable", &["quantum-computing.job.read"]).await;
    first.emulator.shutdown().await.unwrap();

    let second = Harness::start(cfg).await;
    let (status, again, again_headers) = second.call(Method::GET, &format!("/v2/roles/{}", role["id"].as_str().unwrap()), None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["name"], "Durable");
    assert!(again["href"].as_str().unwrap().starts_with(&second.emulator.base_url));
    assert_eq!(etag_of(&again_headers), etag_of(&headers));
}

#[tokio::test]
async fn unknown_routes_get_platform_404() {
    let h = Harness::start(keyed_config()).await;
    let (status, body, _) = h.call(Method::GET, "/v9/nothing", None, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["errors"][0]["code"], "not_found");
}
