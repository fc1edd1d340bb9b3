//! IAM token endpoint (`POST /identity/token`) and the bearer-token check for all other IBM routes.
//!
//! Tokens are JWT-shaped so clients can decode `account.bss` and `iam_id` like they do with real
//! IAM tokens; the signature is random bytes. Validity is decided by the table of issued tokens,
//! which lives only as long as the process.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

use super::errors::ApiError;
use super::state::{AppState, IssuedToken};

pub const TOKEN_PATH: &str = "/identity/token";
pub const TOKEN_ROUTE_KEY: &str = "POST /identity/token";
const APIKEY_GRANT_TYPE: &str = "urn:ibm:params:oauth:grant-type:apikey";
const ISSUER: &str = "https://iam.cloud.ibm.com/identity";

/// Identity of the caller of an authenticated route; inserted into request extensions.
#[derive(Debug, Clone)]
pub struct Caller {
    pub iam_id: String,
    pub account_id: String,
}

pub fn routes() -> Router<AppState> {
    Router::new().route(TOKEN_PATH, post(issue_token))
}

/// `IBMid-` + 10 hex digits, stable for a given API key across restarts (FNV-1a).
pub fn iam_id_for_api_key(api_key: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in api_key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("IBMid-{:010x}", hash & 0xff_ffff_ffff)
}

async fn issue_token(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let token_error = |code: &str, message: &str| ApiError::iam_token(StatusCode::BAD_REQUEST, code, message, state.base_url());
    let mut grant_type = None;
    let mut api_key = None;
    for (name, value) in url::form_urlencoded::parse(&body) {
        match name.as_ref() {
            "grant_type" => grant_type = Some(value.into_owned()),
            "apikey" => api_key = Some(value.into_owned()),
            _ => {} // response_type=cloud_iam and others are accepted and ignored
        }
    }
    match grant_type.as_deref() {
        Some(APIKEY_GRANT_TYPE) => {}
        Some("") | None => return Err(token_error("BXNIM0109E", "Property missing or empty: grant_type.")),
        Some(_) => {
            return Err(token_error("BXNIM0109E", "Unsupported grant_type. Only urn:ibm:params:oauth:grant-type:apikey is supported."))
        }
    }
    let api_key = match api_key {
        Some(key) if !key.is_empty() => key,
        _ => return Err(token_error("BXNIM0109E", "Property missing or empty: apikey.")),
    };
    let settings = state.settings();
    if !settings.api_keys.is_empty() && !settings.api_keys.contains(&api_key) {
        log::info!("token request rejected: unknown API key");
        return Err(token_error("BXNIM0415E", "Provided API key could not be found."));
    }

    let iam_id = iam_id_for_api_key(&api_key);
    let lifetime = i64::try_from(settings.token_lifetime_secs).unwrap_or(i64::MAX / 2);
    let issued_at = time::OffsetDateTime::now_utc().unix_timestamp();
    let expires_at = issued_at.saturating_add(lifetime);
    let access_token = build_jwt(&iam_id, &settings.account_id, issued_at, expires_at);
    // Opaque, as IBM's are; the client never uses it, but a test checks that it never shows.
    let refresh_token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 48]>());
    let mut runtime = state.runtime();
    runtime.tokens.insert(
        access_token.clone(),
        IssuedToken { iam_id: iam_id.clone(), account_id: settings.account_id.clone(), expires_at_s: expires_at },
    );
    runtime.saw_credential("api_key", &api_key);
    runtime.saw_credential("access_token", &access_token);
    runtime.saw_credential("refresh_token", &refresh_token);
    drop(runtime);
    log::info!("issued token for {iam_id}");
    Ok(Json(json!({
        "access_token": access_token,
        "refresh_token": refresh_token,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "expiration": expires_at,
        "scope": "ibm openid",
    }))
    .into_response())
}

fn build_jwt(iam_id: &str, account_id: &str, issued_at: i64, expires_at: i64) -> String {
    let header = json!({"kid": "emulator", "alg": "RS256"});
    let payload = json!({
        "iam_id": iam_id,
        "id": iam_id,
        "realmid": "IBMid",
        "jti": uuid::Uuid::new_v4().to_string(),
        "identifier": iam_id.trim_start_matches("IBMid-"),
        "sub": format!("{}@emulator.invalid", iam_id.to_ascii_lowercase()),
        "account": { "valid": true, "bss": account_id },
        "iat": issued_at,
        "exp": expires_at,
        "iss": ISSUER,
        "grant_type": APIKEY_GRANT_TYPE,
        "scope": "ibm openid",
        "client_id": "default",
    });
    let signature: [u8; 32] = rand::random();
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// Middleware: rejects requests without a valid bearer token issued by this process (401
/// `invalid_token`) and hands the [`Caller`] to handlers.
pub async fn require_bearer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let token = request.headers().get(header::AUTHORIZATION).and_then(|value| value.to_str().ok()).and_then(|value| {
        let (scheme, token) = value.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
    });
    let Some(token) = token else {
        return ApiError::invalid_token("The Authorization header is missing or is not a Bearer token.").into_response();
    };
    let issued = state.runtime().tokens.get(&token).cloned();
    let Some(issued) = issued else {
        return ApiError::invalid_token("The provided token is not valid.").into_response();
    };
    if issued.expires_at_s <= time::OffsetDateTime::now_utc().unix_timestamp() {
        state.runtime().tokens.remove(&token);
        return ApiError::invalid_token("The provided token has expired.").into_response();
    }
    request.extensions_mut().insert(Caller { iam_id: issued.iam_id, account_id: issued.account_id });
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_id_is_deterministic_and_well_formed() {
        let id = iam_id_for_api_key("secret-key");
        assert_eq!(id, iam_id_for_api_key("secret-key"));
        assert_ne!(id, iam_id_for_api_key("other-key"));
        assert!(regex::Regex::new("^IBMid-[0-9a-f]{10}$").unwrap().is_match(&id));
    }

    #[test]
    fn jwt_payload_decodes() {
        let jwt = build_jwt("IBMid-0123456789", "acc", 10, 20);
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let payload: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(payload["account"]["bss"], "acc");
        assert_eq!(payload["iam_id"], "IBMid-0123456789");
        assert_eq!(payload["id"], "IBMid-0123456789");
        assert_eq!(payload["exp"], 20);
        assert_eq!(payload["iss"], ISSUER);
    }
}
