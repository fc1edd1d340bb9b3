//! Errors of the IBM Cloud client, and decoding of the several error-body shapes IBM's APIs use.

use std::fmt;

use serde_json::Value;

/// Anything that can go wrong talking to IBM Cloud.
#[derive(Debug)]
pub enum Error {
    /// The API answered with a non-2xx status.
    Api(ApiError),
    /// The IAM token exchange was refused. Never contains the API key.
    Auth(String),
    /// The connection failed, or the response could not be read.
    Transport(String),
    /// The request did not complete within the configured request timeout.
    Timeout,
    /// The provider was asked to stop (Terraform's StopProvider, Ctrl-C).
    Cancelled,
    /// The client configuration is unusable (bad endpoint, empty key, ...).
    Config(String),
    /// A response could not be decoded into the expected shape.
    Decode(String),
    /// `poll_until` gave up; the text says what was awaited and for how long.
    WaitTimeout(String),
    /// A create request failed in a way that leaves open whether the object was created
    /// (5xx other than 503, or a timeout after the request was sent). The caller should look the
    /// object up before trying again; [`crate::ibmcloud::Client::create_with_lookup`] does that.
    OutcomeUnknown { method: String, path: String, cause: Box<Error> },
}

impl Error {
    /// The HTTP status, if this is an API error (or an unknown outcome caused by one).
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::OutcomeUnknown { cause, .. } => cause.status(),
            _ => None,
        }
    }

    /// True for a 404 answer.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Api(e) if e.status == 404)
    }

    /// The IBM error code (`role_conflict_error`, `RC-...`, `BXNIM...`), if any.
    pub fn api_code(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.code.as_deref(),
            _ => None,
        }
    }

    /// The decoded API error, if this is one.
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api(e) => write!(f, "{e}"),
            Error::Auth(m) => write!(f, "authentication failed: {m}"),
            Error::Transport(m) => write!(f, "connection to IBM Cloud failed: {m}"),
            Error::Timeout => write!(f, "request to IBM Cloud timed out"),
            Error::Cancelled => write!(f, "cancelled"),
            Error::Config(m) => write!(f, "invalid configuration: {m}"),
            Error::Decode(m) => write!(f, "unexpected response from IBM Cloud: {m}"),
            Error::WaitTimeout(m) => write!(f, "{m}"),
            Error::OutcomeUnknown { method, path, cause } => {
                write!(f, "{method} {path}: outcome unknown, the object may or may not have been created ({cause})")
            }
        }
    }
}

impl std::error::Error for Error {}

/// A non-2xx answer from an IBM Cloud API, normalised from whichever body shape it used.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    /// Machine-readable code: `errors[0].code`, `errorCode` or `error_code`.
    pub code: Option<String>,
    /// Human-readable text; several errors are joined with "; ".
    pub message: String,
    /// Request id for IBM support: `trace`, `context.requestId` or `transaction_id`.
    pub trace: Option<String>,
    /// `errors[0].details` or the top-level `details`.
    pub details: Option<Value>,
    /// The whole body as JSON (a JSON string holding a snippet when it was not JSON).
    pub body: Value,
}

/// How much of a non-JSON body we keep for the message.
const SNIPPET_CHARS: usize = 300;

impl ApiError {
    /// Decodes an error response body of any of IBM's shapes.
    pub fn from_body(status: u16, raw: &[u8]) -> ApiError {
        let text = String::from_utf8_lossy(raw);
        match serde_json::from_slice::<Value>(raw) {
            Ok(body @ Value::Object(_)) => Self::from_json(status, body),
            _ => {
                let snippet: String = text.trim().chars().take(SNIPPET_CHARS).collect();
                let message = if snippet.is_empty() { status_text(status) } else { format!("{}: {snippet}", status_text(status)) };
                ApiError { status, code: None, message, trace: None, details: None, body: Value::String(snippet) }
            }
        }
    }

    fn from_json(status: u16, body: Value) -> ApiError {
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let code: Option<String>;
        let mut message = None;
        let mut details = None;
        let mut trace = s(&body, "trace");

        if let Some(errors) = body.get("errors").and_then(Value::as_array).filter(|a| !a.is_empty()) {
            // Platform shape (Access Groups, Policy Management, Resource Manager, IAM Identity).
            code = s(&errors[0], "code");
            details = errors[0].get("details").cloned();
            let parts: Vec<String> = errors
                .iter()
                .filter_map(|e| {
                    let msg = s(e, "message")?;
                    // IAM Identity adds a BXNIM message code; keep it, support asks for it.
                    Some(match s(e, "message_code") {
                        Some(mc) if !msg.contains(&mc) => format!("{msg} ({mc})"),
                        _ => msg,
                    })
                })
                .collect();
            if !parts.is_empty() {
                message = Some(parts.join("; "));
            }
        } else if body.get("errorCode").is_some() || body.get("errorMessage").is_some() {
            // IAM token endpoint shape.
            code = s(&body, "errorCode");
            message = s(&body, "errorMessage");
            trace = trace.or_else(|| body.get("context").and_then(|c| s(c, "requestId")));
        } else if body.get("error_code").is_some() {
            // Resource Controller shape.
            code = s(&body, "error_code");
            message = s(&body, "message");
            trace = trace.or_else(|| s(&body, "transaction_id"));
            details = body.get("details").cloned();
        } else {
            // Unknown shape: take whatever looks like a message.
            message = s(&body, "message")
                .or_else(|| s(&body, "error_description"))
                .or_else(|| s(&body, "error"))
                .or_else(|| s(&body, "description"));
            code = s(&body, "code");
        }
        if details.is_none() {
            details = body.get("details").cloned();
        }
        let message = message.unwrap_or_else(|| {
            let snippet: String = body.to_string().chars().take(SNIPPET_CHARS).collect();
            format!("{}: {snippet}", status_text(status))
        });
        ApiError { status, code, message, trace, details, body }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(trace) = &self.trace {
            write!(f, " (trace {trace})")?;
        }
        Ok(())
    }
}

fn status_text(status: u16) -> String {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| format!("HTTP {status} {r}"))
        .unwrap_or_else(|| format!("HTTP {status}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(status: u16, body: Value) -> ApiError {
        ApiError::from_body(status, body.to_string().as_bytes())
    }

    #[test]
    fn platform_shape() {
        let e = decode(
            409,
            json!({"trace":"abc","errors":[{"code":"role_conflict_error",
                "message":"This role name has already been used, please update the existing one or change the role name.",
                "details":{"conflicts_with":{"etag":"1-x"}}}],"status_code":409}),
        );
        assert_eq!(e.code.as_deref(), Some("role_conflict_error"));
        assert_eq!(e.trace.as_deref(), Some("abc"));
        assert_eq!(e.details, Some(json!({"conflicts_with":{"etag":"1-x"}})));
        assert_eq!(
            e.to_string(),
            "409 role_conflict_error: This role name has already been used, please update the existing one or change the role name. (trace abc)"
        );
    }

    #[test]
    fn iam_identity_shape_keeps_message_code() {
        let e = decode(
            422,
            json!({"errors":[{"code":"invalid_state","message":"Bad state","details":"x","message_code":"BXNIM0908E"}],
                   "status_code":422,"trace":"t1"}),
        );
        assert_eq!(e.to_string(), "422 invalid_state: Bad state (BXNIM0908E) (trace t1)");
        assert_eq!(e.details, Some(json!("x")));
    }

    #[test]
    fn several_errors_are_joined() {
        let e = decode(400, json!({"errors":[{"code":"a","message":"one"},{"code":"b","message":"two"}]}));
        assert_eq!(e.message, "one; two");
        assert_eq!(e.code.as_deref(), Some("a"));
    }

    #[test]
    fn token_shape() {
        let e = decode(
            400,
            json!({"errorCode":"BXNIM0415E","errorMessage":"Provided API key could not be found.",
                   "context":{"requestId":"req-1"}}),
        );
        assert_eq!(e.to_string(), "400 BXNIM0415E: Provided API key could not be found. (trace req-1)");
    }

    #[test]
    fn resource_controller_shape() {
        let e = decode(
            422,
            json!({"error_code":"RC-ServiceBrokerErrorResponse","message":"broker said no",
                   "status_code":422,"transaction_id":"bss-1","details":"409 conflict"}),
        );
        assert_eq!(e.code.as_deref(), Some("RC-ServiceBrokerErrorResponse"));
        assert_eq!(e.trace.as_deref(), Some("bss-1"));
        assert_eq!(e.details, Some(json!("409 conflict")));
        assert_eq!(e.to_string(), "422 RC-ServiceBrokerErrorResponse: broker said no (trace bss-1)");
    }

    #[test]
    fn non_json_and_empty_bodies() {
        let e = ApiError::from_body(502, b"<html>Bad Gateway</html>");
        assert_eq!(e.message, "HTTP 502 Bad Gateway: <html>Bad Gateway</html>");
        assert_eq!(e.code, None);
        let e = ApiError::from_body(404, b"");
        assert_eq!(e.to_string(), "404: HTTP 404 Not Found");
        let long = "x".repeat(5000);
        let e = ApiError::from_body(500, long.as_bytes());
        assert!(e.message.len() < 400);
    }

    #[test]
    fn unknown_json_shape() {
        let e = decode(403, json!({"message":"forbidden thing"}));
        assert_eq!(e.to_string(), "403: forbidden thing");
        let e = decode(418, json!({"foo":1}));
        assert_eq!(e.message, "HTTP 418 I'm a teapot: {\"foo\":1}");
    }

    #[test]
    fn helpers() {
        let e = Error::Api(decode(404, json!({})));
        assert!(e.is_not_found());
        assert_eq!(e.status(), Some(404));
        assert!(!Error::Timeout.is_not_found());
        let u = Error::OutcomeUnknown { method: "POST".into(), path: "/v2/roles".into(), cause: Box::new(e) };
        assert_eq!(u.status(), Some(404));
        assert!(!u.is_not_found());
    }
}
