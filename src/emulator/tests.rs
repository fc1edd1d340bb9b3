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
    let refresh_token = body["refresh_token"].as_str().unwrap().to_string();
    assert!(refresh_token.len() >= 32, "an opaque refresh token: {refresh_token}");
    let (_, seen) = h.admin(Method::GET, "/_emulator/credentials", None).await;
    assert_eq!(seen["api_key"], json!(["good-key"]));
    // The harness took a token of its own when it started.
    assert!(seen["access_token"].as_array().unwrap().contains(&body["access_token"]), "{seen}");
    assert!(seen["refresh_token"].as_array().unwrap().contains(&json!(refresh_token)), "{seen}");
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
async fn ending_the_lag_reveals_hidden_objects() {
    let h = Harness::start(keyed_config()).await;
    h.admin(Method::PUT, "/_emulator/lag", Some(json!({"seconds": 60}))).await;
    let (_, role, _) = h.create_role("Hidden", &["quantum-computing.job.read"]).await;
    let path = format!("/v2/roles/{}", role["id"].as_str().unwrap());
    let (status, _, _) = h.call(Method::GET, &path, None, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, ended) = h.admin(Method::DELETE, "/_emulator/lag", None).await;
    assert_eq!((status, ended), (StatusCode::OK, json!({"seconds": 0.0, "revealed": 1})));
    let (status, _, _) = h.call(Method::GET, &path, None, &[]).await;
    assert_eq!(status, StatusCode::OK, "visible long before its minute was up");
    let (_, lag) = h.admin(Method::GET, "/_emulator/lag", None).await;
    assert_eq!(lag["seconds"], 0.0);
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

// Chaos mode (faults.rs): seeded random faults, counted.

fn chaos_config(settings: Value) -> EmulatorConfig {
    let settings = faults::ChaosSettings::try_from(settings).expect("chaos settings");
    EmulatorConfig { chaos: Some(settings), ..keyed_config() }
}

impl Harness {
    /// Turns chaos on and starts the fault counts afresh.
    async fn set_chaos(&self, settings: Value) {
        let (status, body) = self.admin(Method::PUT, "/_emulator/chaos", Some(settings)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, _) = self.admin(Method::POST, "/_emulator/faults/counts/reset", None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }

    async fn fault_counts(&self) -> Value {
        self.admin(Method::GET, "/_emulator/faults/counts", None).await.1
    }

    fn stored(&self, kind: &str) -> Vec<Value> {
        self.emulator
            .state
            .snapshot()
            .kinds
            .get(kind)
            .map(|records| records.values().map(|r| r.value.clone()).collect())
            .unwrap_or_default()
    }
}

/// The client connected and sent its request, then the connection ended without any answer: no
/// status, no timeout (hyper calls it an incomplete message).
fn assert_connection_dropped(sent: reqwest::Result<reqwest::Response>) {
    let error = sent.expect_err("the client gets no answer");
    assert!(error.is_request() && !error.is_connect() && !error.is_timeout() && error.status().is_none(), "{error:?}");
}

/// The statuses a run of role requests gets (0 for a dropped connection), and the fault log.
async fn chaos_run(seed: u64) -> (Vec<u16>, Value) {
    let h = Harness::start(keyed_config()).await;
    h.set_chaos(json!({"seed": seed, "fraction": 0.4, "kinds": ["throttle", "error500", "error503", "reset_before"]})).await;
    let mut statuses = Vec::new();
    for n in 0..30 {
        let path = if n % 3 == 0 { "/v2/roles".to_string() } else { format!("/v2/roles?service_name=quantum-computing&n={n}") };
        let response = h.http.get(h.url(&path)).bearer_auth(&h.token).send().await;
        statuses.push(response.map(|r| r.status().as_u16()).unwrap_or(0));
    }
    (statuses, h.fault_counts().await["log"].clone())
}

#[tokio::test]
async fn chaos_same_seed_same_faults() {
    let (statuses, log) = chaos_run(2024).await;
    assert_eq!(chaos_run(2024).await, (statuses.clone(), log.clone()));
    let (other, _) = chaos_run(2025).await;
    assert_ne!(statuses, other, "another seed, other faults");
    // The log names the faulted requests, and they are the ones that failed.
    let failed: Vec<u64> = (1..).zip(&statuses).filter(|(_, status)| **status != 200).map(|(n, _)| n).collect();
    let logged: Vec<u64> = log.as_array().unwrap().iter().map(|entry| entry["request"].as_u64().unwrap()).collect();
    assert_eq!(failed, logged, "{statuses:?} {log}");
    assert!(!failed.is_empty() && failed.len() < 30, "{statuses:?}");
    assert!(statuses.iter().all(|status| [0, 200, 429, 500, 503].contains(status)), "{statuses:?}");
}

#[tokio::test]
async fn chaos_fraction_zero_injects_nothing() {
    let h = Harness::start(chaos_config(json!({"seed": 1, "fraction": 0.0}))).await;
    h.admin(Method::POST, "/_emulator/faults/counts/reset", None).await;
    for n in 0..20 {
        let (status, body, _) = h.create_role(&format!("Calm{n}"), &["quantum-computing.job.read"]).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let counts = h.fault_counts().await;
    assert_eq!(counts, json!({"requests": 20, "faults": 0, "by_kind": {}, "by_route": {}, "log": []}));
}

#[tokio::test]
async fn chaos_reset_after_acts_but_the_answer_is_lost() {
    let h = Harness::start(keyed_config()).await;
    h.set_chaos(json!({"seed": 3, "fraction": 1.0, "kinds": ["reset_after"], "routes": ["POST /v2/roles"]})).await;
    let body = json!({"name": "Lost", "display_name": "Lost", "actions": ["quantum-computing.job.read"],
                      "account_id": h.account(), "service_name": "quantum-computing"});
    let sent = h.http.post(h.url("/v2/roles")).bearer_auth(&h.token).json(&body).send().await;
    assert_connection_dropped(sent);
    // The role was made all the same.
    let roles = h.stored("roles");
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0]["name"], "Lost");
    let (status, list, _) = h.call(Method::GET, "/v2/roles?service_name=quantum-computing", None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["custom_roles"][0]["name"], "Lost");
    // The retry meets the role it made.
    let (status, conflict, _) = h.call(Method::DELETE, "/_emulator/chaos", None, &[]).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{conflict}");
    let (status, _, _) = h.call(Method::POST, "/v2/roles", Some(body), &[]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(h.fault_counts().await["by_kind"], json!({"reset_after": 1}));
}

#[tokio::test]
async fn chaos_reset_before_changes_nothing() {
    let h = Harness::start(keyed_config()).await;
    let (_, role, headers) = h.create_role("Kept", &["quantum-computing.job.read"]).await;
    let before = h.emulator.state.snapshot();
    h.set_chaos(json!({"seed": 3, "fraction": 1.0, "kinds": ["reset_before"]})).await;
    let update = json!({"display_name": "Changed", "actions": ["quantum-computing.job.create"]});
    let path = format!("/v2/roles/{}", role["id"].as_str().unwrap());
    let attempts = [
        h.http.post(h.url("/v2/roles")).json(&json!({"name": "Never", "display_name": "Never", "actions": ["quantum-computing.job.read"],
            "account_id": h.account(), "service_name": "quantum-computing"})),
        h.http.put(h.url(&path)).header("If-Match", etag_of(&headers)).json(&update),
        h.http.delete(h.url(&path)),
    ];
    for attempt in attempts {
        assert_connection_dropped(attempt.bearer_auth(&h.token).send().await);
    }
    // hyper would send the head of an answer to HEAD, so a HEAD is never reset.
    let probe = h.http.head(h.url("/v2/groups/AccessGroupId-none/members/IBMid-1")).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(probe.status(), StatusCode::NOT_FOUND);
    assert_eq!(h.emulator.state.snapshot(), before, "nothing changed");
    assert_eq!(h.fault_counts().await["by_kind"], json!({"reset_before": 3}));
}

#[tokio::test]
async fn chaos_etag_race_fails_a_fresh_if_match_and_leaves_the_other_writers_change() {
    let h = Harness::start(keyed_config()).await;
    let (_, role, _) = h.create_role("Raced", &["quantum-computing.job.read"]).await;
    let path = format!("/v2/roles/{}", role["id"].as_str().unwrap());
    let (_, read, headers) = h.call(Method::GET, &path, None, &[]).await;
    let etag = etag_of(&headers);
    h.set_chaos(json!({"seed": 9, "fraction": 1.0, "kinds": ["etag_race"]})).await;
    let update = json!({"display_name": "Mine", "actions": ["quantum-computing.job.read"]});
    let (status, body, _) = h.call(Method::PUT, &path, Some(update.clone()), &[("If-Match", &etag)]).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    assert_eq!(body["errors"][0]["code"], "precondition_failed");

    // Reads are not raced (no If-Match): the other writer's change is there, under a new ETag.
    let (_, after, headers) = h.call(Method::GET, &path, None, &[]).await;
    assert_eq!(after["last_modified_by_id"], faults::OTHER_WRITER_IAM_ID);
    assert_eq!(after["display_name"], read["display_name"]);
    let fresh = etag_of(&headers);
    assert!(fresh.starts_with("\"2-"), "{fresh}");

    // Account settings answer a stale tag with their own 409; the other writer's setting stays.
    let settings_path = format!("/v1/accounts/{}/settings/identity", h.account());
    let (_, settings, _) = h.call(Method::GET, &settings_path, None, &[]).await;
    let tag = settings["entity_tag"].as_str().unwrap().to_string();
    let (status, body, _) = h.call(Method::PUT, &settings_path, Some(json!({"mfa": "TOTP"})), &[("If-Match", &tag)]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (_, settings, _) = h.call(Method::GET, &settings_path, None, &[]).await;
    assert_eq!(settings[faults::OTHER_WRITER_ACCOUNT_SETTING], "2700");
    assert_eq!(settings["mfa"], "NONE");
    assert_ne!(settings["entity_tag"], tag.as_str());
    let counts = h.fault_counts().await;
    assert_eq!(counts["by_kind"], json!({"etag_race": 2}), "GETs without If-Match are never raced: {counts}");

    // Once the race is over, the re-read ETag goes through.
    h.admin(Method::DELETE, "/_emulator/chaos", None).await;
    let (status, body, _) = h.call(Method::PUT, &path, Some(update), &[("If-Match", &fresh)]).await;
    assert_eq!((status, body["display_name"].as_str()), (StatusCode::OK, Some("Mine")));
}

/// The other writer strikes an object once between two of the client's writes: the client's
/// write again with the re-read ETag goes through, even with every write raced.
#[tokio::test]
async fn chaos_never_races_the_same_object_twice_in_a_row() {
    let h = Harness::start(keyed_config()).await;
    let (_, role, _) = h.create_role("Raced", &["quantum-computing.job.read"]).await;
    let path = format!("/v2/roles/{}", role["id"].as_str().unwrap());
    h.set_chaos(json!({"seed": 3, "fraction": 1.0, "kinds": ["etag_race"]})).await;
    let update = json!({"display_name": "Mine", "actions": ["quantum-computing.job.read"]});
    let (_, _, headers) = h.call(Method::GET, &path, None, &[]).await;
    let (status, _, _) = h.call(Method::PUT, &path, Some(update.clone()), &[("If-Match", &etag_of(&headers))]).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (_, _, headers) = h.call(Method::GET, &path, None, &[]).await;
    let (status, body, _) = h.call(Method::PUT, &path, Some(update.clone()), &[("If-Match", &etag_of(&headers))]).await;
    assert_eq!((status, body["display_name"].as_str()), (StatusCode::OK, Some("Mine")), "{body}");
    // The next write to it may be raced again.
    let (_, _, headers) = h.call(Method::GET, &path, None, &[]).await;
    let (status, _, _) = h.call(Method::PUT, &path, Some(update), &[("If-Match", &etag_of(&headers))]).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
}

#[tokio::test]
async fn chaos_stall_acts_even_when_the_client_gives_up() {
    let h = Harness::start(keyed_config()).await;
    h.set_chaos(json!({"seed": 4, "fraction": 1.0, "kinds": ["stall"], "stall_ms": 400, "routes": ["POST /v2/roles"]})).await;
    let impatient = reqwest::Client::builder().no_proxy().timeout(Duration::from_millis(100)).build().unwrap();
    let body = json!({"name": "Slow", "display_name": "Slow", "actions": ["quantum-computing.job.read"],
                      "account_id": h.account(), "service_name": "quantum-computing"});
    let error = impatient.post(h.url("/v2/roles")).bearer_auth(&h.token).json(&body).send().await.expect_err("times out");
    assert!(error.is_timeout(), "{error:?}");
    assert!(h.stored("roles").is_empty(), "not yet acted on");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(h.stored("roles").len(), 1, "acted on after the stall");
    // A patient client gets its answer late.
    let started = std::time::Instant::now();
    let (status, _, _) = h.create_role("Patient", &["quantum-computing.job.read"]).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[tokio::test]
async fn chaos_answers_carry_retry_after_and_spare_the_token_route_unless_asked() {
    let h = Harness::start(keyed_config()).await;
    h.set_chaos(json!({"seed": 5, "fraction": 1.0, "kinds": ["throttle"], "retry_after_seconds": 3})).await;
    let (status, body, headers) = h.call(Method::GET, "/v2/roles", None, &[]).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("too_many_requests")));
    assert_eq!(headers.get("retry-after").unwrap(), "3");
    let (status, _, _) = h.token_request(&[("grant_type", APIKEY_GRANT), ("apikey", "good-key")]).await;
    assert_eq!(status, StatusCode::OK, "the token route is spared");
    // The admin API never is faulted.
    let (status, _) = h.admin(Method::GET, "/_emulator/health", None).await;
    assert_eq!(status, StatusCode::OK);

    h.set_chaos(json!({"seed": 5, "fraction": 1.0, "kinds": ["error503"], "include_token_route": true, "error503_retry_after": true}))
        .await;
    let (status, body, headers) = h.token_request(&[("grant_type", APIKEY_GRANT), ("apikey", "good-key")]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body["errorCode"].is_string(), "the token route's own error shape: {body}");
    assert_eq!(headers.get("retry-after").unwrap(), "1");
    h.set_chaos(json!({"seed": 5, "fraction": 1.0, "kinds": ["error500"]})).await;
    let (status, _, headers) = h.call(Method::GET, "/v2/roles", None, &[]).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(headers.get("retry-after").is_none());
}

#[tokio::test]
async fn chaos_counts_add_up() {
    let h = Harness::start(keyed_config()).await;
    let (_, role, _) = h.create_role("Counted", &["quantum-computing.job.read"]).await;
    let id = role["id"].as_str().unwrap();
    let path = format!("/v2/roles/{id}");
    h.set_chaos(json!({"seed": 11, "fraction": 0.5, "stall_ms": 1,
                       "kinds": {"throttle": 2, "error500": 1, "error503": 1, "reset_before": 1, "reset_after": 1, "stall": 1, "etag_race": 3}}))
        .await;
    h.admin(Method::POST, "/_emulator/faults", Some(json!({"route": "GET /v2/roles", "status": 429, "count": 2}))).await;
    let requests = 60;
    for n in 0..requests {
        let request = match n % 3 {
            0 => h.http.get(h.url("/v2/roles")),
            1 => h.http.get(h.url(&path)),
            _ => {
                let etag = h.emulator.state.with_objects(|tx| tx.get("roles", id).unwrap().etag_header());
                h.http
                    .put(h.url(&path))
                    .header("If-Match", etag)
                    .json(&json!({"display_name": format!("N{n}"), "actions": ["quantum-computing.job.read"]}))
            }
        };
        let _ = request.bearer_auth(&h.token).send().await;
    }
    let counts = h.fault_counts().await;
    assert_eq!(counts["requests"], requests);
    let faults = counts["faults"].as_u64().unwrap();
    let by_kind: u64 = counts["by_kind"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
    let by_route: u64 = counts["by_route"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|kinds| kinds.as_object().unwrap().values())
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!((by_kind, by_route, counts["log"].as_array().unwrap().len() as u64), (faults, faults, faults), "{counts}");
    assert_eq!(counts["by_kind"]["queued_429"], 2, "{counts}");
    assert!(faults > 20 && faults < requests, "{counts}");
    // Races hit only the If-Match writes.
    assert!(counts["by_route"]["PUT /v2/roles/{id}"]["etag_race"].as_u64().unwrap() > 0, "{counts}");
    assert!(counts["by_route"]["GET /v2/roles/{id}"].get("etag_race").is_none(), "{counts}");

    // The chaos answer holds the settings and the same counts; counts reset apart from chaos.
    let (_, chaos) = h.admin(Method::GET, "/_emulator/chaos", None).await;
    assert_eq!((chaos["enabled"].as_bool(), chaos["settings"]["seed"].as_u64()), (Some(true), Some(11)));
    assert_eq!(chaos["settings"]["kinds"]["etag_race"], 3.0);
    assert_eq!(chaos["counts"], counts);
    h.admin(Method::POST, "/_emulator/faults/counts/reset", None).await;
    assert_eq!(h.fault_counts().await, json!({"requests": 0, "faults": 0, "by_kind": {}, "by_route": {}, "log": []}));
    let (status, _) = h.admin(Method::DELETE, "/_emulator/chaos", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, chaos) = h.admin(Method::GET, "/_emulator/chaos", None).await;
    assert_eq!((chaos["enabled"].as_bool(), chaos["settings"].is_null()), (Some(false), true));
    let (status, body) = h.admin(Method::PUT, "/_emulator/chaos", Some(json!({"seed": 1, "fraction": 2}))).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_body")));
}

#[tokio::test]
async fn chaos_etag_race_reaches_every_if_match_write() {
    let h = Harness::start(keyed_config()).await;
    h.set_chaos(json!({"seed": 8, "fraction": 1.0, "kinds": ["etag_race"]})).await;
    let seeded = json!({"account_id": h.account(), "last_modified_by_id": "IBMid-me", "modified_at": "then", "history": []});
    for target in faults::RACE_TARGETS {
        let record = h.emulator.state.with_objects(|tx| tx.create(target.kind, "raced-object", seeded.clone()));
        let (method, template) = target.route.split_once(' ').unwrap();
        // The object's id in its own parameter; any other parameter (a rule's group) is not looked at.
        let path = template.replace(&format!("{{{}}}", target.id_param), "raced-object").replace("{id}", "AccessGroupId-other");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let (status, body, _) = h.call(method, &path, Some(json!({})), &[("If-Match", &record.etag_header())]).await;
        assert!(status.is_client_error(), "{}: {status} {body}", target.route);
        let raced = h.emulator.state.with_objects(|tx| tx.get(target.kind, "raced-object").cloned().unwrap());
        assert_eq!(raced.revision, 2, "{}: the other writer's change is a new revision", target.route);
        assert_ne!(raced.value, seeded, "{}", target.route);
        assert_eq!(h.fault_counts().await["by_route"][target.route], json!({"etag_race": 1}), "{} is a route key", target.route);
    }
}
