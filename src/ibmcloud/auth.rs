//! IAM token: API-key exchange, caching with early renewal, one shared exchange for concurrent
//! callers, and reading `iam_id` / `account.bss` from the token's claims.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde::Deserialize;

use super::http::{execute, trace_response, with_retries};
use super::redact;
use super::{ApiError, Client, Error};

/// Current time in Unix seconds; injectable so renewal can be tested without waiting.
pub(crate) type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub(crate) fn system_clock() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Treat a token as expired this many seconds before its real expiry (clock skew, transit).
const EXPIRY_MARGIN_SECS: i64 = 10;

/// Who the API key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `account_id` from the provider config, else the token's `account.bss`.
    pub account_id: String,
    /// The caller's IAM id (`IBMid-...`, `iam-ServiceId-...`, `iam-Profile-...`).
    pub iam_id: String,
}

/// The claims we read from the access token (a JWT; the signature is not checked — IAM issued it
/// to us over TLS and the APIs verify it).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Claims {
    #[serde(default)]
    pub iam_id: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub account: Option<AccountClaim>,
    #[serde(default)]
    pub exp: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct AccountClaim {
    #[serde(default)]
    pub bss: Option<String>,
}

pub(crate) struct Token {
    pub access_token: String,
    /// Renew from this time on (expiration − 20 % of the lifetime).
    pub refresh_at: i64,
    pub expires_at: i64,
    pub claims: Option<Claims>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("access_token", &"***")
            .field("refresh_at", &self.refresh_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

pub(crate) struct TokenCache {
    clock: Clock,
    /// Held across the exchange, so concurrent callers wait for one exchange and share it.
    slot: tokio::sync::Mutex<Option<Arc<Token>>>,
    exchanges: AtomicU64,
}

impl TokenCache {
    pub(crate) fn new(clock: Clock) -> TokenCache {
        TokenCache { clock, slot: tokio::sync::Mutex::new(None), exchanges: AtomicU64::new(0) }
    }
}

/// Whether a cached token may still be used at `now`.
pub(crate) fn token_is_fresh(now: i64, refresh_at: i64, expires_at: i64) -> bool {
    now < refresh_at && now < expires_at - EXPIRY_MARGIN_SECS
}

/// (refresh_at, expires_at) from the token response. Prefers the server's `expiration`, then the
/// JWT `exp`, then now + `expires_in`.
pub(crate) fn renewal_times(now: i64, expires_in: Option<i64>, expiration: Option<i64>, jwt_exp: Option<i64>) -> (i64, i64) {
    // Saturating: these numbers come from the network.
    let expires_at = expiration.or(jwt_exp).or(expires_in.map(|s| now.saturating_add(s))).unwrap_or(now);
    let lifetime = expires_in.unwrap_or(expires_at.saturating_sub(now)).max(0);
    (expires_at.saturating_sub(lifetime / 5), expires_at)
}

/// Decodes the JWT payload (middle segment, base64url) without checking the signature.
pub(crate) fn decode_claims(jwt: &str) -> Option<Claims> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    expires_in: Option<i64>,
    expiration: Option<i64>,
}

impl Client {
    /// A valid access token, exchanging the API key when none is cached or it is due for renewal.
    pub(crate) async fn bearer(&self) -> Result<Arc<Token>, Error> {
        let cache = &self.inner.tokens;
        let mut slot = cache.slot.lock().await;
        if let Some(t) = slot.as_ref() {
            if token_is_fresh((cache.clock)(), t.refresh_at, t.expires_at) {
                return Ok(t.clone());
            }
        }
        match self.exchange_api_key().await {
            Ok(token) => {
                let token = Arc::new(token);
                *slot = Some(token.clone());
                Ok(token)
            }
            // Renewal is early by design: if IAM is briefly unreachable, the old token still works.
            Err(e @ (Error::Transport(_) | Error::Timeout | Error::Api(_))) => match slot.as_ref() {
                Some(old) if (cache.clock)() < old.expires_at - EXPIRY_MARGIN_SECS => {
                    log::warn!("renewing the IAM token failed ({e}); using the current one until it expires");
                    Ok(old.clone())
                }
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Drops the cached token if it is still `stale` (another caller may have renewed it already).
    pub(crate) async fn invalidate_token(&self, stale: &str) {
        let mut slot = self.inner.tokens.slot.lock().await;
        if slot.as_ref().is_some_and(|t| t.access_token == stale) {
            *slot = None;
        }
    }

    /// How many token exchanges this client has made (for tests and diagnostics).
    pub fn token_exchanges(&self) -> u64 {
        self.inner.tokens.exchanges.load(Ordering::SeqCst)
    }

    /// The account and IAM id this client acts as.
    pub async fn identity(&self) -> Result<Identity, Error> {
        let token = self.bearer().await?;
        let claims = token
            .claims
            .clone()
            .ok_or_else(|| Error::Decode("the IAM access token is not a readable JWT; cannot tell the account and caller".into()))?;
        let account_id = match &self.inner.cfg.account_id {
            Some(a) => a.clone(),
            None => claims
                .account
                .as_ref()
                .and_then(|a| a.bss.clone())
                .ok_or_else(|| Error::Config("the IAM token names no account (account.bss); set account_id in the provider".into()))?,
        };
        let iam_id =
            claims.iam_id.clone().or(claims.id.clone()).ok_or_else(|| Error::Decode("the IAM token has no iam_id claim".into()))?;
        Ok(Identity { account_id, iam_id })
    }

    async fn exchange_api_key(&self) -> Result<Token, Error> {
        let inner = &self.inner;
        let key = inner.cfg.api_key.expose();
        let url = format!("{}/identity/token", inner.cfg.endpoints.base(super::Api::Iam));
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "urn:ibm:params:oauth:grant-type:apikey")
            .append_pair("apikey", key)
            .append_pair("response_type", "cloud_iam")
            .finish();
        inner.tokens.exchanges.fetch_add(1, Ordering::SeqCst);
        log::trace!("POST /identity/token request body: {}", redact::form(&form));
        let gate = inner.gates.of(super::Api::Iam, inner.cfg.endpoints.base(super::Api::Iam));
        let raw = with_retries(inner, &gate, "POST /identity/token", false, || {
            let rb = inner
                .http
                .post(&url)
                .header(::http::header::ACCEPT, "application/json")
                .header(::http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form.clone());
            async move {
                let attempt = execute(rb).await;
                trace_response("POST /identity/token", &attempt);
                Ok(attempt)
            }
        })
        .await?;

        if !(200..300).contains(&raw.status) {
            let e = ApiError::from_body(raw.status, &raw.body);
            if (400..500).contains(&raw.status) && raw.status != 429 {
                let what = match &e.code {
                    Some(code) => format!("{code}: {}", e.message),
                    None => e.message.clone(),
                };
                let msg = format!("IBM Cloud IAM rejected the API key ({what}) — check api_key / IC_API_KEY");
                return Err(Error::Auth(scrub(&msg, key)));
            }
            let mut e = e;
            e.message = scrub(&format!("IAM token exchange: {}", e.message), key);
            return Err(Error::Api(e));
        }
        let token = token_from_response(&raw.body, (inner.tokens.clock)())?;
        log::debug!("IAM token obtained; renewing after {}, expires at {}", token.refresh_at, token.expires_at);
        Ok(token)
    }
}

/// The token in a 2xx answer of IAM's token endpoint, received at `now`.
pub(crate) fn token_from_response(body: &[u8], now: i64) -> Result<Token, Error> {
    let resp: TokenResponse = serde_json::from_slice(body).map_err(|e| Error::Decode(format!("IAM token response: {e}")))?;
    let access_token =
        resp.access_token.filter(|t| !t.is_empty()).ok_or_else(|| Error::Decode("IAM token response has no access_token".into()))?;
    let claims = decode_claims(&access_token);
    let (refresh_at, expires_at) = renewal_times(now, resp.expires_in, resp.expiration, claims.as_ref().and_then(|c| c.exp));
    Ok(Token { access_token, refresh_at, expires_at, claims })
}

/// Removes the key from a message, in case a server echoes it back.
fn scrub(msg: &str, key: &str) -> String {
    if key.len() >= 4 {
        msg.replace(key, "***")
    } else {
        msg.to_owned()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn renewal_times_never_overflow_on_absurd_server_numbers() {
        let (refresh_at, expires_at) = renewal_times(i64::MAX - 10, Some(i64::MAX), None, None);
        assert_eq!(expires_at, i64::MAX);
        assert!(refresh_at <= expires_at);
        // An expiry far in the past: the token counts as expired at once, so it is renewed.
        assert_eq!(renewal_times(100, None, Some(i64::MIN), None), (i64::MIN, i64::MIN));
    }

    use super::*;
    use crate::ibmcloud::testing::{jwt, test_config, Mock, Reply, TEST_KEY};
    use crate::ibmcloud::{Api, Method};
    use serde_json::json;
    use std::sync::atomic::AtomicI64;
    use tokio_util::sync::CancellationToken;

    #[test]
    fn freshness_and_renewal_times() {
        // 3600 s token issued at 1000: renew from 1000 + 2880.
        let (refresh_at, expires_at) = renewal_times(1000, Some(3600), Some(4600), None);
        assert_eq!((refresh_at, expires_at), (3880, 4600));
        assert!(token_is_fresh(1000, refresh_at, expires_at));
        assert!(token_is_fresh(3879, refresh_at, expires_at));
        assert!(!token_is_fresh(3880, refresh_at, expires_at));
        // Short lifetimes: the 10 s margin wins over the 20 % rule.
        let (r, e) = renewal_times(0, Some(20), Some(20), None);
        assert_eq!((r, e), (16, 20));
        assert!(token_is_fresh(9, r, e));
        assert!(!token_is_fresh(10, r, e));
        // Missing fields fall back to the JWT exp, then to expires_in.
        assert_eq!(renewal_times(0, None, None, Some(100)), (80, 100));
        assert_eq!(renewal_times(50, Some(100), None, None), (130, 150));
        assert_eq!(renewal_times(50, None, None, None), (50, 50));
    }

    #[test]
    fn claims_are_decoded() {
        let t = jwt(&json!({"iam_id":"IBMid-1","account":{"bss":"acct1","valid":true},"exp":5}));
        let c = decode_claims(&t).unwrap();
        assert_eq!(c.iam_id.as_deref(), Some("IBMid-1"));
        assert_eq!(c.account.unwrap().bss.as_deref(), Some("acct1"));
        assert!(decode_claims("opaque").is_none());
        assert!(decode_claims("a.!!!.c").is_none());
    }

    #[test]
    fn api_key_never_prints() {
        let cfg = crate::ibmcloud::ClientConfig::new(
            crate::ibmcloud::ApiKey::new("supersecret"),
            crate::ibmcloud::Endpoints::uniform("http://127.0.0.1:1").unwrap(),
        );
        let text = format!("{cfg:?} {}", cfg.api_key);
        assert!(!text.contains("supersecret"), "{text}");
        assert_eq!(scrub("key supersecret here", "supersecret"), "key *** here");
    }

    #[tokio::test]
    async fn token_request_shape_and_identity() {
        let mock = Mock::start(|_, _| Reply::json(200, json!({}))).await;
        let client = Client::new(test_config(&mock, 0), CancellationToken::new()).unwrap();
        let id = client.identity().await.unwrap();
        assert_eq!(id, Identity { account_id: "acct-from-token".into(), iam_id: "iam-ServiceId-test".into() });
        let reqs = mock.requests_to("/identity/token");
        assert_eq!(reqs.len(), 1);
        let r = &reqs[0];
        assert_eq!(r.method, "POST");
        assert_eq!(r.headers.get("accept").unwrap(), "application/json");
        assert_eq!(r.headers.get("content-type").unwrap(), "application/x-www-form-urlencoded");
        let form: Vec<(String, String)> = url::form_urlencoded::parse(r.body.as_bytes()).into_owned().collect();
        assert!(form.contains(&("grant_type".into(), "urn:ibm:params:oauth:grant-type:apikey".into())));
        assert!(form.contains(&("apikey".into(), TEST_KEY.into())));
        assert!(form.contains(&("response_type".into(), "cloud_iam".into())));

        let mut cfg = test_config(&mock, 0);
        cfg.account_id = Some("configured".into());
        let client = Client::new(cfg, CancellationToken::new()).unwrap();
        assert_eq!(client.identity().await.unwrap().account_id, "configured");
    }

    #[tokio::test]
    async fn one_exchange_for_many_concurrent_requests() {
        let mock = Mock::start(|_, _| Reply::json(200, json!({})).delay(std::time::Duration::from_millis(20))).await;
        let client = Client::new(test_config(&mock, 0), CancellationToken::new()).unwrap();
        let mut tasks = Vec::new();
        for i in 0..25 {
            let c = client.clone();
            tasks.push(tokio::spawn(async move { c.request(Api::Iam, Method::GET, format!("/v1/thing/{i}")).send().await }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(mock.count("POST", "/identity/token"), 1);
        assert_eq!(client.token_exchanges(), 1);
    }

    #[tokio::test]
    async fn token_renewed_by_clock() {
        let mock = Mock::start(|_, _| Reply::json(200, json!({}))).await;
        let now = Arc::new(AtomicI64::new(system_clock()));
        let n2 = now.clone();
        let clock: Clock = Arc::new(move || n2.load(Ordering::SeqCst));
        let client = Client::with_clock(test_config(&mock, 0), CancellationToken::new(), clock).unwrap();
        // The mock issues 3600 s tokens with expiration = real now + 3600.
        client.request(Api::Iam, Method::GET, "/a").send().await.unwrap();
        now.fetch_add(2000, Ordering::SeqCst);
        client.request(Api::Iam, Method::GET, "/a").send().await.unwrap();
        assert_eq!(mock.count("POST", "/identity/token"), 1);
        now.fetch_add(900, Ordering::SeqCst); // past 80 % of the lifetime
        client.request(Api::Iam, Method::GET, "/a").send().await.unwrap();
        assert_eq!(mock.count("POST", "/identity/token"), 2);
    }

    #[tokio::test]
    async fn unauthorized_call_renews_token_once() {
        // The API accepts only the second token the mock issued.
        let mock = Mock::start(|req, _| {
            let auth = req.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
            if auth.ends_with(&crate::ibmcloud::testing::token_for(1)) {
                Reply::json(200, json!({"ok":true}))
            } else {
                Reply::json(401, json!({"errors":[{"code":"invalid_token","message":"expired"}]}))
            }
        })
        .await;
        let client = Client::new(test_config(&mock, 3), CancellationToken::new()).unwrap();
        let r = client.request(Api::Iam, Method::GET, "/v2/groups").send().await.unwrap();
        assert_eq!(r.body, json!({"ok":true}));
        assert_eq!(mock.count("POST", "/identity/token"), 2);
        assert_eq!(mock.count("GET", "/v2/groups"), 2);

        // A 401 that persists is reported after one renewal, not retried forever.
        let mock = Mock::start(|_, _| Reply::json(401, json!({"errors":[{"code":"invalid_token","message":"no"}]}))).await;
        let client = Client::new(test_config(&mock, 3), CancellationToken::new()).unwrap();
        let err = client.request(Api::Iam, Method::GET, "/v2/groups").send().await.unwrap_err();
        assert_eq!(err.status(), Some(401));
        assert_eq!(mock.count("GET", "/v2/groups"), 2);
        assert_eq!(mock.count("POST", "/identity/token"), 2);
    }

    #[tokio::test]
    async fn rejected_key_error_text() {
        let mock = Mock::start_raw(|req, _| {
            if req.path == "/identity/token" {
                Reply::json(
                    400,
                    json!({"errorCode":"BXNIM0415E","errorMessage":"Provided API key could not be found.",
                           "context":{"requestId":"r1"}, "echo": TEST_KEY}),
                )
            } else {
                Reply::json(200, json!({}))
            }
        })
        .await;
        let client = Client::new(test_config(&mock, 3), CancellationToken::new()).unwrap();
        let err = client.request(Api::Iam, Method::GET, "/v2/groups").send().await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Auth(_)));
        assert!(
            text.contains(
                "IBM Cloud IAM rejected the API key (BXNIM0415E: Provided API key could not be found.) — check api_key / IC_API_KEY"
            ),
            "{text}"
        );
        assert!(!text.contains(TEST_KEY));
        assert!(!format!("{err:?}").contains(TEST_KEY));
        // Not retried, and no API call was attempted.
        assert_eq!(mock.count("POST", "/identity/token"), 1);
        assert_eq!(mock.count("GET", "/v2/groups"), 0);
    }
}
