//! Test support: a tiny axum server on 127.0.0.1:0 whose answers a closure decides, and which
//! records every request. Issues IAM tokens itself unless started with `start_raw`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::{ApiKey, Client, ClientConfig, Endpoints};

pub(crate) const TEST_KEY: &str = "test-api-key-0123456789";

#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: String,
}

pub(crate) struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply { status, headers: vec![("content-type".into(), "application/json".into())], body: body.to_string(), delay: Duration::ZERO }
    }
    pub fn text(status: u16, body: &str) -> Reply {
        Reply { status, headers: Vec::new(), body: body.into(), delay: Duration::ZERO }
    }
    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.into(), v.into()));
        self
    }
    pub fn delay(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }
}

/// Decides the answer to a request; the second argument counts earlier requests with the same
/// method and path (0 for the first).
type Handler = Arc<dyn Fn(&Req, usize) -> Reply + Send + Sync>;

#[derive(Clone)]
struct Shared {
    handler: Handler,
    log: Arc<Mutex<Vec<Req>>>,
}

pub(crate) struct Mock {
    pub base: String,
    log: Arc<Mutex<Vec<Req>>>,
}

impl Mock {
    /// Answers `/identity/token` with fresh test tokens; everything else goes to `handler`.
    pub async fn start(handler: impl Fn(&Req, usize) -> Reply + Send + Sync + 'static) -> Mock {
        Self::start_raw(move |req, n| if req.path == "/identity/token" { token_reply(n) } else { handler(req, n) }).await
    }

    /// Every request, the token endpoint included, goes to `handler`.
    pub async fn start_raw(handler: impl Fn(&Req, usize) -> Reply + Send + Sync + 'static) -> Mock {
        let shared = Shared { handler: Arc::new(handler), log: Arc::new(Mutex::new(Vec::new())) };
        let log = shared.log.clone();
        let app = axum::Router::new().fallback(serve).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Mock { base: format!("http://{addr}"), log }
    }

    pub fn requests(&self) -> Vec<Req> {
        self.log.lock().unwrap().clone()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Req> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }

    pub fn count(&self, method: &str, path: &str) -> usize {
        self.requests().iter().filter(|r| r.method == method && r.path == path).count()
    }
}

async fn serve(State(s): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: String) -> Response {
    let req = Req { method: method.to_string(), path: uri.path().to_string(), query: uri.query().unwrap_or("").to_string(), headers, body };
    let n = {
        let mut log = s.log.lock().unwrap();
        let n = log.iter().filter(|r| r.method == req.method && r.path == req.path).count();
        log.push(req.clone());
        n
    };
    let reply = (s.handler)(&req, n);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut b = Response::builder().status(reply.status);
    for (k, v) in &reply.headers {
        b = b.header(k, v);
    }
    b.body(Body::from(reply.body)).unwrap()
}

/// An unsigned JWT carrying `claims`.
pub(crate) fn jwt(claims: &Value) -> String {
    let enc = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.sig", enc(&json!({"alg":"none"})), enc(claims))
}

/// The `n`-th (0-based) token the mock issues.
pub(crate) fn token_for(n: usize) -> String {
    jwt(&json!({"iam_id":"iam-ServiceId-test","id":"iam-ServiceId-test","account":{"bss":"acct-from-token"},"n":n}))
}

fn token_reply(n: usize) -> Reply {
    let now = super::auth::system_clock();
    Reply::json(
        200,
        json!({"access_token": token_for(n), "refresh_token":"not_supported", "token_type":"Bearer",
               "expires_in":3600, "expiration": now + 3600, "scope":"ibm openid"}),
    )
}

pub(crate) fn test_config(mock: &Mock, max_retries: u32) -> ClientConfig {
    let mut cfg = ClientConfig::new(ApiKey::new(TEST_KEY), Endpoints::uniform(&mock.base).unwrap());
    cfg.max_retries = max_retries;
    cfg.request_timeout = Duration::from_secs(5);
    cfg
}

pub(crate) fn test_client(mock: &Mock, max_retries: u32) -> Client {
    Client::new(test_config(mock, max_retries), CancellationToken::new()).unwrap()
}

pub(crate) fn query_map(q: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}
