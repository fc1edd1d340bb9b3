//! The single request path every API module uses: bearer token, retries with backoff and
//! `Retry-After`, create-safety (no blind re-POST), ETags, decoding of error bodies.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ::http::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, ETAG, IF_MATCH, RETRY_AFTER};
use ::http::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::gate::Gate;
use super::redact;
use super::wait::sleep_or_cancel;
use super::{Api, ApiError, Client, Error, Inner};

/// First backoff delay; doubled per retry.
const BACKOFF_START: Duration = Duration::from_millis(250);
/// Largest exponential backoff delay.
const BACKOFF_CAP: Duration = Duration::from_secs(10);
/// Largest delay we accept from a `Retry-After` header.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(30);

/// A successful (2xx) response.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    /// The `ETag` header, verbatim (quotes included if the server sent them).
    pub etag: Option<String>,
    /// The JSON body; `Value::Null` when the body was empty.
    pub body: Value,
    pub headers: HeaderMap,
}

impl ApiResponse {
    /// A 2xx answer as the client reads it: the JSON body (null when blank) and the ETag.
    pub(crate) fn from_raw(label: &str, raw: RawResponse) -> Result<ApiResponse, Error> {
        let body = if raw.body.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(&raw.body).map_err(|e| Error::Decode(format!("{label}: body is not JSON ({e})")))?
        };
        let etag = raw.headers.get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(ApiResponse { status: raw.status, etag, body, headers: raw.headers })
    }

    /// Deserializes the body into `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        T::deserialize(&self.body).map_err(|e| Error::Decode(format!("response body: {e}")))
    }
}

/// A request being put together; see [`Client::request`].
#[must_use = "a request does nothing until .send() is awaited"]
pub struct RequestBuilder {
    client: Client,
    api: Api,
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Result<Value, String>>,
    headers: Vec<(String, String)>,
    creates: bool,
    /// Instead of the API's base URL (a regional App ID host).
    base: Option<String>,
    /// A non-JSON body: content type and text (SAML metadata XML).
    text: Option<(String, String)>,
}

impl Client {
    /// Starts a request to `api`; `path` is absolute from the API's base URL (e.g. `/v2/roles`).
    /// Encode variable path parts with [`path_segment`].
    pub fn request(&self, api: Api, method: Method, path: impl Into<String>) -> RequestBuilder {
        RequestBuilder {
            client: self.clone(),
            api,
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            headers: Vec::new(),
            creates: false,
            base: None,
            text: None,
        }
    }
}

impl RequestBuilder {
    /// Sets a text body of `content_type` (instead of JSON).
    pub fn text_body(mut self, content_type: &str, text: &str) -> Self {
        self.text = Some((content_type.to_owned(), text.to_owned()));
        self
    }

    /// Sends the request like [`RequestBuilder::send`], returning the body as text (XML).
    pub async fn send_text(self) -> Result<String, Error> {
        let raw = self.send_raw().await?;
        Ok(String::from_utf8_lossy(&raw.body).into_owned())
    }

    /// Sends to `base` instead of the API's base URL (no trailing slash).
    pub fn at_base(mut self, base: impl Into<String>) -> Self {
        self.base = Some(base.into());
        self
    }

    /// Adds one query parameter.
    pub fn query(mut self, key: &str, value: impl AsRef<str>) -> Self {
        self.query.push((key.to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Adds several query parameters.
    pub fn query_all<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        for (k, v) in pairs {
            self.query.push((k.as_ref().to_owned(), v.as_ref().to_owned()));
        }
        self
    }

    /// Sets a JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        self.body = Some(serde_json::to_value(body).map_err(|e| e.to_string()));
        self
    }

    /// Sends `If-Match` with the ETag exactly as it was received.
    pub fn if_match(self, etag: &str) -> Self {
        self.header("If-Match", etag)
    }

    /// Adds a header (e.g. `Transaction-Id`).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Marks a create POST: only retried when the request surely had no effect (429, 503, or a
    /// connection that failed before sending); otherwise [`Error::OutcomeUnknown`] is returned.
    pub fn creates(mut self) -> Self {
        self.creates = true;
        self
    }

    /// Sends a delete (or removal) where an object already gone counts as done: a 404 is success.
    pub async fn send_absent_ok(self) -> Result<(), Error> {
        match self.send().await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Sends the request with retries. Non-2xx answers become [`Error::Api`].
    pub async fn send(self) -> Result<ApiResponse, Error> {
        let label = format!("{} {}", self.method, self.path);
        ApiResponse::from_raw(&label, self.send_raw().await?)
    }

    /// Sends with retries; a non-2xx answer is [`Error::Api`], a 2xx one is returned raw.
    async fn send_raw(self) -> Result<RawResponse, Error> {
        let label = format!("{} {}", self.method, self.path);
        let prepared = Arc::new(self.prepare()?);
        let client = self.client.clone();
        let refreshed = Arc::new(AtomicBool::new(false));
        let gate = client.inner.gates.of(self.api, client.inner.cfg.endpoints.base(self.api));
        let raw = with_retries(&client.inner, &gate, &label, self.creates, || {
            let (client, prepared, refreshed) = (client.clone(), prepared.clone(), refreshed.clone());
            async move {
                let token = client.bearer().await?;
                let first = prepared.send_once(&client.inner, &token.access_token).await;
                // A 401 usually means the token was revoked or expired early: renew it once and
                // repeat the call, without counting it as a retry.
                if matches!(&first, Attempt::Response(r) if r.status == 401) && !refreshed.swap(true, Ordering::SeqCst) {
                    log::debug!("{} got 401; renewing the IAM token", prepared.label);
                    client.invalidate_token(&token.access_token).await;
                    let token = client.bearer().await?;
                    return Ok(prepared.send_once(&client.inner, &token.access_token).await);
                }
                Ok(first)
            }
        })
        .await?;
        if !(200..300).contains(&raw.status) {
            // An error that echoes the request (a password IBM refused) must not carry its secrets
            // into Terraform's error text.
            let secrets = prepared.body.as_ref().map(redact::secret_values).unwrap_or_default();
            return Err(Error::Api(ApiError::from_body(raw.status, &redact::without(&raw.body, &secrets))));
        }
        Ok(raw)
    }

    fn prepare(&self) -> Result<Prepared, Error> {
        if !self.path.starts_with('/') {
            return Err(Error::Config(format!("request path {:?} must start with '/'", self.path)));
        }
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| Error::Config(format!("invalid header name {name:?}")))?;
            let value = HeaderValue::from_str(value).map_err(|_| Error::Config(format!("invalid value for header {name}")))?;
            if name == IF_MATCH || name == ACCEPT {
                headers.insert(name, value);
            } else {
                headers.append(name, value);
            }
        }
        let body = match &self.body {
            None => None,
            Some(Ok(v)) => Some(v.clone()),
            Some(Err(e)) => return Err(Error::Decode(format!("cannot encode the request body: {e}"))),
        };
        let base = self.base.as_deref().unwrap_or_else(|| self.client.inner.cfg.endpoints.base(self.api));
        Ok(Prepared {
            label: format!("{} {}", self.method, self.path),
            method: self.method.clone(),
            url: format!("{base}{}", self.path),
            query: self.query.clone(),
            headers,
            body,
            text: self.text.clone(),
        })
    }
}

/// A request ready to be sent any number of times.
struct Prepared {
    label: String,
    method: Method,
    url: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Option<Value>,
    text: Option<(String, String)>,
}

impl Prepared {
    async fn send_once(&self, inner: &Inner, token: &str) -> Attempt {
        let mut rb = inner.http.request(self.method.clone(), &self.url).headers(self.headers.clone()).bearer_auth(token);
        if !self.query.is_empty() {
            rb = rb.query(&self.query);
        }
        if let Some(body) = &self.body {
            log::trace!("{} request body: {}", self.label, redact::json_body(body));
            rb = rb.json(body);
        } else if let Some((content_type, text)) = &self.text {
            log::trace!("{} request body: {}", self.label, redact::body(text.as_bytes()));
            rb = rb.header(::http::header::CONTENT_TYPE, content_type.as_str()).body(text.clone());
        }
        let attempt = execute(rb).await;
        trace_response(&self.label, &attempt);
        attempt
    }
}

/// The answer's body in the trace log, redacted (bodies may hold tokens and passwords).
pub(crate) fn trace_response(label: &str, attempt: &Attempt) {
    if let Attempt::Response(r) = attempt {
        log::trace!("{label} -> {} body: {}", r.status, redact::body(&r.body));
    }
}

/// What one HTTP exchange produced.
pub(crate) enum Attempt {
    Response(RawResponse),
    /// Failed before the request went out (DNS, connect, TLS handshake).
    NotSent(String),
    /// Failed after the request may have been sent.
    MaybeSent {
        timeout: bool,
        message: String,
    },
}

pub(crate) struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Sends and reads the whole body, classifying failures.
pub(crate) async fn execute(rb: reqwest::RequestBuilder) -> Attempt {
    let resp = match rb.send().await {
        Ok(r) => r,
        Err(e) => return classify(&e),
    };
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    match resp.bytes().await {
        Ok(body) => Attempt::Response(RawResponse { status, headers, body: body.to_vec() }),
        Err(e) => Attempt::MaybeSent { timeout: e.is_timeout(), message: error_chain(&e) },
    }
}

fn classify(e: &reqwest::Error) -> Attempt {
    if e.is_connect() {
        Attempt::NotSent(error_chain(e))
    } else {
        Attempt::MaybeSent { timeout: e.is_timeout(), message: error_chain(e) }
    }
}

/// reqwest's own message is terse ("error sending request"); the cause chain says what happened.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// The kind of failure a retry decision is made on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    Status(u16),
    NotSent,
    MaybeSent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Retry,
    GiveUp,
    /// A create may or may not have taken effect; the caller must look before trying again.
    OutcomeUnknown,
}

/// Whether to retry after `failure`, given `retries_done` so far. Pure, so it is unit-tested.
pub(crate) fn retry_decision(failure: Failure, creates: bool, retries_done: u32, max_retries: u32) -> Decision {
    // These leave no doubt that nothing happened, so even a create may be repeated.
    let surely_no_effect = matches!(failure, Failure::Status(429) | Failure::Status(503) | Failure::NotSent);
    let retryable = surely_no_effect || matches!(failure, Failure::Status(s) if s >= 500 && s != 501) || failure == Failure::MaybeSent;
    if !retryable {
        Decision::GiveUp
    } else if creates && !surely_no_effect {
        Decision::OutcomeUnknown
    } else if retries_done >= max_retries {
        Decision::GiveUp
    } else {
        Decision::Retry
    }
}

/// Exponential backoff with jitter for retry number `attempt` (0-based): a random delay in
/// [ceiling/2, ceiling], ceiling = 250 ms · 2^attempt capped at 10 s.
pub fn backoff(attempt: u32) -> Duration {
    use rand::Rng;
    let ceiling = backoff_ceiling(attempt).as_millis() as u64;
    Duration::from_millis(rand::rng().random_range(ceiling / 2..=ceiling))
}

fn backoff_ceiling(attempt: u32) -> Duration {
    BACKOFF_START.saturating_mul(2u32.saturating_pow(attempt.min(16))).min(BACKOFF_CAP)
}

/// The delay a `Retry-After` header asks for (seconds or HTTP-date), capped at 30 s.
pub fn retry_after_delay(header: &str, now: SystemTime) -> Option<Duration> {
    let header = header.trim();
    let delay = if let Ok(secs) = header.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = httpdate::parse_http_date(header).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(delay.min(RETRY_AFTER_CAP))
}

/// Runs `attempt` until it succeeds, a non-retryable answer comes, or retries run out. Returns
/// the final response whatever its status (callers map non-2xx), or a transport-level error.
/// Every attempt first passes `gate`, the back-off gate of the API; a 429 (or a 503 with
/// `Retry-After`) closes that gate for every request to the API, this one's retry included.
pub(crate) async fn with_retries<F, Fut>(
    inner: &Inner,
    gate: &Gate,
    label: &str,
    creates: bool,
    mut attempt: F,
) -> Result<RawResponse, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Attempt, Error>>,
{
    let mut retries_done: u32 = 0;
    loop {
        if inner.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        gate.pass(&inner.cancel).await?;
        let outcome = tokio::select! {
            _ = inner.cancel.cancelled() => return Err(Error::Cancelled),
            r = attempt() => r?,
        };
        let n = retries_done + 1;
        let outcome = match outcome {
            Attempt::Response(r) if r.status < 400 => {
                log::debug!("{label} -> {} (attempt {n})", r.status);
                return Ok(r);
            }
            other => other,
        };
        let (failure, retry_after) = match &outcome {
            Attempt::Response(r) => {
                log::debug!("{label} -> {} (attempt {n})", r.status);
                let ra = r.headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| retry_after_delay(v, SystemTime::now()));
                (Failure::Status(r.status), ra)
            }
            Attempt::NotSent(m) => {
                log::debug!("{label} -> connection failed: {m} (attempt {n})");
                (Failure::NotSent, None)
            }
            Attempt::MaybeSent { message, .. } => {
                log::debug!("{label} -> failed: {message} (attempt {n})");
                (Failure::MaybeSent, None)
            }
        };
        // IBM's "slow down" is for every request to this API, not only this one: close its gate.
        let throttled = failure == Failure::Status(429) || (failure == Failure::Status(503) && retry_after.is_some());
        if throttled {
            let delay = retry_after.unwrap_or_else(|| backoff(retries_done));
            log::debug!("{label}: the API asks to wait {delay:?}; holding its requests until then");
            gate.close_for(delay);
        }
        match retry_decision(failure, creates, retries_done, inner.cfg.max_retries) {
            // The gate holds the retry of a throttled request until its time.
            Decision::Retry if throttled => retries_done += 1,
            Decision::Retry => {
                let delay = retry_after.unwrap_or_else(|| backoff(retries_done));
                log::debug!("{label}: retrying in {delay:?}");
                sleep_or_cancel(&inner.cancel, delay).await?;
                retries_done += 1;
            }
            Decision::GiveUp => {
                return match outcome {
                    Attempt::Response(r) => Ok(r),
                    other => Err(attempt_error(other)),
                }
            }
            Decision::OutcomeUnknown => {
                let (method, path) = label.split_once(' ').unwrap_or((label, ""));
                return Err(Error::OutcomeUnknown {
                    method: method.to_owned(),
                    path: path.to_owned(),
                    cause: Box::new(attempt_error(outcome)),
                });
            }
        }
    }
}

fn attempt_error(a: Attempt) -> Error {
    match a {
        Attempt::Response(r) => Error::Api(ApiError::from_body(r.status, &r.body)),
        Attempt::NotSent(m) => Error::Transport(m),
        Attempt::MaybeSent { timeout: true, .. } => Error::Timeout,
        Attempt::MaybeSent { message, .. } => Error::Transport(message),
    }
}

/// Percent-encodes one path segment (ids, CRNs, emails) so it cannot change the path.
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ibmcloud::testing::{test_client, Mock, Reply};
    use serde_json::json;
    use std::time::Instant;

    #[test]
    fn decisions_for_ordinary_requests() {
        use Decision::*;
        use Failure::*;
        for s in [429, 500, 502, 503, 504, 599] {
            assert_eq!(retry_decision(Status(s), false, 0, 3), Retry, "{s}");
            assert_eq!(retry_decision(Status(s), false, 3, 3), GiveUp, "{s}");
        }
        for s in [400, 401, 403, 404, 409, 412, 501] {
            assert_eq!(retry_decision(Status(s), false, 0, 3), GiveUp, "{s}");
        }
        assert_eq!(retry_decision(NotSent, false, 0, 3), Retry);
        assert_eq!(retry_decision(MaybeSent, false, 0, 3), Retry);
        assert_eq!(retry_decision(MaybeSent, false, 0, 0), GiveUp);
    }

    #[test]
    fn decisions_for_creates() {
        use Decision::*;
        use Failure::*;
        assert_eq!(retry_decision(Status(429), true, 0, 3), Retry);
        assert_eq!(retry_decision(Status(503), true, 0, 3), Retry);
        assert_eq!(retry_decision(NotSent, true, 0, 3), Retry);
        assert_eq!(retry_decision(Status(503), true, 3, 3), GiveUp);
        for f in [Status(500), Status(502), Status(504), MaybeSent] {
            assert_eq!(retry_decision(f, true, 0, 3), OutcomeUnknown, "{f:?}");
        }
        assert_eq!(retry_decision(Status(501), true, 0, 3), GiveUp);
        assert_eq!(retry_decision(Status(409), true, 0, 3), GiveUp);
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        assert_eq!(backoff_ceiling(0), Duration::from_millis(250));
        assert_eq!(backoff_ceiling(1), Duration::from_millis(500));
        assert_eq!(backoff_ceiling(5), Duration::from_secs(8));
        assert_eq!(backoff_ceiling(6), BACKOFF_CAP);
        assert_eq!(backoff_ceiling(u32::MAX), BACKOFF_CAP);
        for attempt in 0..10 {
            for _ in 0..20 {
                let d = backoff(attempt);
                let c = backoff_ceiling(attempt);
                assert!(d >= c / 2 && d <= c, "{attempt}: {d:?}");
            }
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(retry_after_delay("0", now), Some(Duration::ZERO));
        assert_eq!(retry_after_delay(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after_delay("3600", now), Some(RETRY_AFTER_CAP));
        let in_5s = httpdate::fmt_http_date(now + Duration::from_secs(5));
        assert_eq!(retry_after_delay(&in_5s, now), Some(Duration::from_secs(5)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(50));
        assert_eq!(retry_after_delay(&past, now), Some(Duration::ZERO));
        let far = httpdate::fmt_http_date(now + Duration::from_secs(500));
        assert_eq!(retry_after_delay(&far, now), Some(RETRY_AFTER_CAP));
        assert_eq!(retry_after_delay("soon", now), None);
        assert_eq!(retry_after_delay("-1", now), None);
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(path_segment("abc-DEF_1.~"), "abc-DEF_1.~");
        assert_eq!(path_segment("crn:v1:a/b c"), "crn%3Av1%3Aa%2Fb%20c");
        assert_eq!(path_segment("../x"), "..%2Fx");
    }

    /// A client whose requests never reach the network: the tests below drive `with_retries`
    /// with attempts of their own, under tokio's paused clock.
    fn offline_client(max_retries: u32, max_requests_per_second: Option<f64>) -> Client {
        let endpoints = crate::ibmcloud::Endpoints::uniform("http://127.0.0.1:9").unwrap();
        let mut cfg = crate::ibmcloud::ClientConfig::new(crate::ibmcloud::ApiKey::new("k"), endpoints);
        cfg.max_retries = max_retries;
        cfg.max_requests_per_second = max_requests_per_second;
        Client::new(cfg, tokio_util::sync::CancellationToken::new()).unwrap()
    }

    fn reply(status: u16, retry_after: Option<&str>) -> Attempt {
        let mut headers = HeaderMap::new();
        if let Some(ra) = retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from_str(ra).unwrap());
        }
        Attempt::Response(RawResponse { status, headers, body: Vec::new() })
    }

    /// Sends through `with_retries` on `api`'s gate; `answer(n)` answers the n-th attempt. Returns
    /// the (paused-clock) times at which each attempt left.
    async fn send_logged(client: &Client, api: Api, answer: impl Fn(usize) -> Attempt) -> Vec<tokio::time::Instant> {
        let inner = &client.inner;
        let gate = inner.gates.of(api, inner.cfg.endpoints.base(api));
        let sent = std::sync::Mutex::new(Vec::new());
        let answer = &answer;
        let sent_ref = &sent;
        with_retries(inner, &gate, "GET /x", false, || async move {
            let mut log = sent_ref.lock().unwrap();
            log.push(tokio::time::Instant::now());
            Ok(answer(log.len() - 1))
        })
        .await
        .unwrap();
        sent.into_inner().unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_holds_every_request_to_that_api_until_its_retry_after() {
        let client = offline_client(3, None);
        let t0 = tokio::time::Instant::now();
        // The first request is told to wait 5 s.
        let refused = {
            let client = client.clone();
            tokio::spawn(async move {
                send_logged(&client, Api::IamPolicy, |n| if n == 0 { reply(429, Some("5")) } else { reply(200, None) }).await
            })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Requests that come later, to the same API, wait for the gate; another API does not.
        let others: Vec<_> = (0..10)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move { send_logged(&client, Api::IamPolicy, |_| reply(200, None)).await })
            })
            .collect();
        let unrelated = send_logged(&client, Api::ResourceManager, |_| reply(200, None)).await;
        assert_eq!(unrelated[0] - t0, Duration::from_millis(100));
        let refused = refused.await.unwrap();
        assert_eq!(refused.len(), 2);
        assert_eq!(refused[0] - t0, Duration::ZERO);
        assert!(refused[1] - t0 >= Duration::from_secs(5), "the retry left at {:?}", refused[1] - t0);
        for other in others {
            let sent = other.await.unwrap();
            // Waiting at the gate is not a retry: each sent once, and only after the 5 s.
            assert_eq!(sent.len(), 1);
            assert!(sent[0] - t0 >= Duration::from_secs(5), "a request left at {:?}", sent[0] - t0);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_503_closes_the_gate_only_with_retry_after() {
        let client = offline_client(3, None);
        let t0 = tokio::time::Instant::now();
        let sent = send_logged(&client, Api::Iam, |n| if n == 0 { reply(503, Some("2")) } else { reply(200, None) }).await;
        assert!(sent[1] - t0 >= Duration::from_secs(2));
        let later = send_logged(&client, Api::Iam, |_| reply(200, None)).await;
        assert_eq!(later[0], sent[1], "the gate reopened at its time");
        // Without Retry-After, a 503 is retried after a backoff of its own; others pass at once.
        let c2 = client.clone();
        let failing =
            tokio::spawn(async move { send_logged(&c2, Api::Iam, |n| if n == 0 { reply(503, None) } else { reply(200, None) }).await });
        tokio::task::yield_now().await;
        let t1 = tokio::time::Instant::now();
        let passing = send_logged(&client, Api::Iam, |_| reply(200, None)).await;
        assert_eq!(passing[0], t1);
        assert_eq!(failing.await.unwrap().len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn max_requests_per_second_paces_each_api() {
        let client = offline_client(0, Some(10.0));
        let t0 = tokio::time::Instant::now();
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move { send_logged(&client, Api::IamPolicy, |_| reply(200, None)).await[0] })
            })
            .collect();
        let mut times = Vec::new();
        for task in tasks {
            times.push(task.await.unwrap() - t0);
        }
        times.sort();
        for (i, t) in times.iter().enumerate() {
            assert_eq!(*t, Duration::from_millis(100) * i as u32, "request {i}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn cancellation_ends_the_wait_at_a_closed_gate() {
        let cancel = tokio_util::sync::CancellationToken::new();
        let endpoints = crate::ibmcloud::Endpoints::uniform("http://127.0.0.1:9").unwrap();
        let client = Client::new(crate::ibmcloud::ClientConfig::new(crate::ibmcloud::ApiKey::new("k"), endpoints), cancel.clone()).unwrap();
        let gate = client.inner.gates.of(Api::Iam, client.inner.cfg.endpoints.base(Api::Iam));
        gate.close_for(Duration::from_secs(30));
        let c2 = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            c2.cancel();
        });
        let t0 = tokio::time::Instant::now();
        let sent = std::sync::atomic::AtomicU32::new(0);
        let result = with_retries(&client.inner, &gate, "GET /x", false, || {
            sent.fetch_add(1, Ordering::SeqCst);
            async { Ok(reply(200, None)) }
        })
        .await;
        assert!(matches!(result, Err(Error::Cancelled)));
        assert_eq!(sent.load(Ordering::SeqCst), 0);
        assert_eq!(t0.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test]
    async fn retry_after_429_then_success() {
        let mock = Mock::start(|req, n| match n {
            0 => Reply::json(429, json!({"errors":[{"code":"too_many_requests","message":"slow down"}]})).header("Retry-After", "0"),
            _ => Reply::json(200, json!({"ok": req.path})),
        })
        .await;
        let client = test_client(&mock, 3);
        let started = Instant::now();
        let r = client.request(Api::IamPolicy, Method::GET, "/v2/roles").send().await.unwrap();
        assert_eq!(r.body, json!({"ok":"/v2/roles"}));
        assert_eq!(mock.count("GET", "/v2/roles"), 2);
        // Retry-After: 0 overrides the backoff.
        assert!(started.elapsed() < Duration::from_millis(200));
    }

    #[tokio::test]
    async fn retries_503_then_200_and_reads_etag_and_sends_if_match() {
        let mock = Mock::start(|_, n| match n {
            0 => Reply::text(503, "<html>unavailable</html>"),
            _ => Reply::json(200, json!({"id":"r1"})).header("etag", "\"2-abc\""),
        })
        .await;
        let client = test_client(&mock, 3);
        let r = client
            .request(Api::IamPolicy, Method::PUT, "/v2/roles/r1")
            .if_match("\"1-abc\"")
            .query("account_id", "a b")
            .json(&json!({"display_name":"x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.etag.as_deref(), Some("\"2-abc\""));
        assert_eq!(r.status, 200);
        let reqs = mock.requests_to("/v2/roles/r1");
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[1].headers.get("if-match").unwrap(), "\"1-abc\"");
        assert_eq!(reqs[1].query, "account_id=a+b");
        assert_eq!(reqs[1].body, r#"{"display_name":"x"}"#);
        assert!(reqs[1].headers.get("authorization").unwrap().to_str().unwrap().starts_with("Bearer "));
    }

    #[tokio::test]
    async fn gives_up_after_max_retries_with_decoded_error() {
        let mock = Mock::start(|_, _| {
            Reply::json(502, json!({"error_code":"RC-Bad","message":"gateway","transaction_id":"t9"})).header("Retry-After", "0")
        })
        .await;
        let client = test_client(&mock, 2);
        let err = client.request(Api::ResourceController, Method::GET, "/v2/x").send().await.unwrap_err();
        assert_eq!(err.to_string(), "502 RC-Bad: gateway (trace t9)");
        assert_eq!(mock.count("GET", "/v2/x"), 3);
    }

    #[tokio::test]
    async fn client_errors_are_not_retried_and_empty_bodies_are_null() {
        let mock = Mock::start(|req, _| match req.path.as_str() {
            "/gone" => Reply::json(404, json!({"errors":[{"code":"not_found","message":"nope"}],"trace":"t"})),
            _ => Reply::text(204, ""),
        })
        .await;
        let client = test_client(&mock, 3);
        let err = client.request(Api::Iam, Method::GET, "/gone").send().await.unwrap_err();
        assert!(err.is_not_found());
        assert_eq!(mock.count("GET", "/gone"), 1);
        let r = client.request(Api::Iam, Method::DELETE, "/x").send().await.unwrap();
        assert_eq!((r.status, r.body), (204, Value::Null));
    }

    #[tokio::test]
    async fn create_not_retried_on_500_and_lookup_used() {
        let mock = Mock::start(|_, _| Reply::json(500, json!({"errors":[{"code":"boom","message":"internal"}]}))).await;
        let client = test_client(&mock, 3);
        let err = client.request(Api::IamPolicy, Method::POST, "/v2/roles").creates().json(&json!({})).send().await.unwrap_err();
        assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err}");
        assert_eq!(err.status(), Some(500));
        assert_eq!(mock.count("POST", "/v2/roles"), 1);

        let lookups = std::sync::atomic::AtomicU32::new(0);
        let found = client
            .create_with_lookup(
                || client.request(Api::IamPolicy, Method::POST, "/v2/roles").json(&json!({})),
                || {
                    lookups.fetch_add(1, Ordering::SeqCst);
                    async { Ok(Some(ApiResponse { status: 200, etag: None, body: json!({"id":"found"}), headers: HeaderMap::new() })) }
                },
                crate::ibmcloud::Uniqueness::Enforced,
                |_| true,
            )
            .await
            .unwrap();
        assert_eq!(found.body, json!({"id":"found"}));
        assert_eq!(lookups.load(Ordering::SeqCst), 1);
        assert_eq!(mock.count("POST", "/v2/roles"), 2);
    }

    #[tokio::test]
    async fn create_with_lookup_tries_again_when_not_found() {
        let mock = Mock::start(|_, n| match n {
            0 => Reply::json(502, json!({})),
            _ => Reply::json(201, json!({"id":"new"})),
        })
        .await;
        let client = test_client(&mock, 3);
        let found = client
            .create_with_lookup(
                || client.request(Api::IamPolicy, Method::POST, "/v2/roles"),
                || async { Ok(None) },
                crate::ibmcloud::Uniqueness::Enforced,
                |_| true,
            )
            .await
            .unwrap();
        assert_eq!((found.status, found.body), (201, json!({"id":"new"})));
        assert_eq!(mock.count("POST", "/v2/roles"), 2);
    }

    #[tokio::test]
    async fn create_is_retried_on_503() {
        let mock = Mock::start(|_, n| match n {
            0 => Reply::json(503, json!({})).header("Retry-After", "0"),
            _ => Reply::json(201, json!({"id":"new"})),
        })
        .await;
        let client = test_client(&mock, 3);
        let r = client.request(Api::IamPolicy, Method::POST, "/v2/roles").creates().send().await.unwrap();
        assert_eq!(r.status, 201);
        assert_eq!(mock.count("POST", "/v2/roles"), 2);
    }

    #[tokio::test]
    async fn connection_refused_is_retried_then_reported() {
        // Bind and drop a listener to get a port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mock = Mock::start(|_, _| Reply::json(200, json!({}))).await;
        let mut cfg = crate::ibmcloud::testing::test_config(&mock, 1);
        let mut overrides = std::collections::BTreeMap::new();
        overrides.insert("tagging".to_string(), format!("http://127.0.0.1:{port}"));
        overrides.insert("iam".to_string(), mock.base.clone());
        cfg.endpoints = crate::ibmcloud::Endpoints::resolve(&overrides, &|_| None, "us-east").unwrap();
        let client = Client::new(cfg, tokio_util::sync::CancellationToken::new()).unwrap();
        let err = client.request(Api::Tagging, Method::POST, "/v3/tags/attach").creates().send().await.unwrap_err();
        assert!(matches!(err, Error::Transport(_)), "{err}");
    }

    #[tokio::test]
    async fn cancellation_interrupts_backoff() {
        let mock = Mock::start(|_, _| Reply::json(503, json!({})).header("Retry-After", "30")).await;
        let cancel = tokio_util::sync::CancellationToken::new();
        let client = Client::new(crate::ibmcloud::testing::test_config(&mock, 5), cancel.clone()).unwrap();
        let c2 = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            c2.cancel();
        });
        let started = Instant::now();
        let err = client.request(Api::Iam, Method::GET, "/v1/x").send().await.unwrap_err();
        assert!(matches!(err, Error::Cancelled), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn request_timeout_after_sending_is_reported() {
        let mock = Mock::start(|_, _| Reply::json(200, json!({})).delay(Duration::from_millis(800))).await;
        let mut cfg = crate::ibmcloud::testing::test_config(&mock, 0);
        cfg.request_timeout = Duration::from_millis(300);
        let client = Client::new(cfg, tokio_util::sync::CancellationToken::new()).unwrap();
        // The token endpoint answers at once (Mock only delays other paths).
        let err = client.request(Api::Iam, Method::GET, "/slow").send().await.unwrap_err();
        assert!(matches!(err, Error::Timeout), "{err}");
        let err = client.request(Api::Iam, Method::POST, "/slow").creates().send().await.unwrap_err();
        assert!(matches!(&err, Error::OutcomeUnknown { cause, .. } if matches!(**cause, Error::Timeout)), "{err}");
    }
}
