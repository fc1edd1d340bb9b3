//! Builders for the error bodies IBM Cloud APIs return.
//!
//! Two shapes exist in the emulated APIs:
//! * the "platform" shape used by IAM Policy Management, Access Groups and Resource Manager:
//!   `{"trace","errors":[{"code","message","details"?}],"status_code"}`;
//! * the IAM token endpoint shape: `{"errorCode","errorMessage","context":{...}}`.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// An error response ready to be returned from a handler.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: Value,
    pub headers: Vec<(HeaderName, String)>,
}

impl ApiError {
    /// Platform-shaped error with one entry in `errors`.
    pub fn platform(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        let body = json!({
            "trace": new_trace_id(),
            "errors": [{ "code": code, "message": message.into() }],
            "status_code": status.as_u16(),
        });
        ApiError { status, body, headers: Vec::new() }
    }

    /// Adds `details` to the first error entry (platform shape only).
    pub fn with_details(mut self, details: Value) -> Self {
        if let Some(first) = self.body.pointer_mut("/errors/0").and_then(Value::as_object_mut) {
            first.insert("details".to_string(), details);
        }
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// IAM token endpoint error (`POST /identity/token`).
    pub fn iam_token(status: StatusCode, error_code: &str, message: &str, base_url: &str) -> Self {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let body = json!({
            "errorCode": error_code,
            "errorMessage": message,
            "context": {
                "requestId": new_trace_id(),
                "requestType": "incoming.OIDC_Token",
                "url": base_url,
                "startTime": now.to_string(),
                "endTime": now.to_string(),
                "elapsedTime": "0",
                "locale": "en_US",
            },
        });
        ApiError { status, body, headers: Vec::new() }
    }

    // Shorthands for the common platform errors.

    pub fn invalid_body(message: impl Into<String>) -> Self {
        Self::platform(StatusCode::BAD_REQUEST, "invalid_body", message)
    }

    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::platform(StatusCode::NOT_FOUND, code, message)
    }

    pub fn invalid_token(message: impl Into<String>) -> Self {
        Self::platform(StatusCode::UNAUTHORIZED, "invalid_token", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut headers = HeaderMap::new();
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        (self.status, headers, Json(self.body)).into_response()
    }
}

/// Platform error `code` conventionally used for a bare HTTP status (fault injection, fallbacks).
pub fn default_code_for_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "invalid_body",
        401 => "invalid_token",
        403 => "insufficent_permissions", // sic: IBM's spelling in the SDK enum
        404 => "not_found",
        409 => "conflict",
        412 => "precondition_failed",
        429 => "too_many_requests",
        s if s >= 500 => "internal_server_error",
        _ => "request_not_processed",
    }
}

/// Parses a request body that must be a JSON object; anything else is a 400 `invalid_body`.
pub fn parse_json_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::invalid_body("The request body must be a JSON object.")),
        Err(err) => Err(ApiError::invalid_body(format!("The request body is not valid JSON: {err}"))),
    }
}

/// Trace ids look like opaque hex strings in real responses.
pub fn new_trace_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_shape_has_trace_errors_and_status() {
        let err =
            ApiError::platform(StatusCode::CONFLICT, "role_conflict_error", "dup").with_details(json!({"conflicts_with": {"etag": "1-x"}}));
        assert_eq!(err.body["status_code"], 409);
        assert_eq!(err.body["errors"][0]["code"], "role_conflict_error");
        assert_eq!(err.body["errors"][0]["details"]["conflicts_with"]["etag"], "1-x");
        assert!(err.body["trace"].as_str().is_some_and(|t| !t.is_empty()));
    }

    #[test]
    fn token_shape_has_error_code_and_context() {
        let err = ApiError::iam_token(StatusCode::BAD_REQUEST, "BXNIM0415E", "nope", "http://x");
        assert_eq!(err.body["errorCode"], "BXNIM0415E");
        assert_eq!(err.body["context"]["url"], "http://x");
        assert!(err.body["context"]["requestId"].is_string());
    }
}
