//! Request counting and fault injection, applied to every emulated IBM API route.
//!
//! Routes are identified by a key `"METHOD /route/template"`, e.g. `"GET /v2/roles/{id}"`, so
//! tests can target one operation regardless of ids in the URL.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::errors::{default_code_for_status, ApiError};
use super::iam_token::TOKEN_ROUTE_KEY;
use super::state::AppState;

/// A queued fault: the next `remaining` requests matching `route` get `status` instead of service.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Fault {
    /// Route key; `None` matches every emulated route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    pub status: u16,
    pub remaining: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<String>,
    /// Error `code` for the body; defaults from the status (e.g. 429 → `too_many_requests`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Fault {
    fn matches(&self, route_key: &str) -> bool {
        self.route.as_deref().is_none_or(|route| route == route_key)
    }
}

/// `"METHOD /template"` for routed requests; the raw path otherwise.
pub fn route_key(request: &Request) -> String {
    let path = match request.extensions().get::<MatchedPath>() {
        Some(matched) => matched.as_str().to_string(),
        None => request.uri().path().to_string(),
    };
    format!("{} {}", request.method(), path)
}

/// Counts the request, then either answers with the first matching queued fault or serves it.
pub async fn count_and_inject_faults(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let key = route_key(&request);
    let fault = {
        let mut runtime = state.runtime();
        runtime.request_total += 1;
        *runtime.request_counts.entry(key.clone()).or_insert(0) += 1;
        take_matching_fault(&mut runtime.faults, &key)
    };
    let response = match fault {
        Some(fault) => {
            log::info!("{key}: injected fault {}", fault.status);
            fault_response(&state, &key, &fault)
        }
        None => next.run(request).await,
    };
    log::info!("{key} -> {}", response.status().as_u16());
    response
}

fn take_matching_fault(queue: &mut std::collections::VecDeque<Fault>, key: &str) -> Option<Fault> {
    let index = queue.iter().position(|fault| fault.matches(key))?;
    let fault = &mut queue[index];
    fault.remaining = fault.remaining.saturating_sub(1);
    let taken = fault.clone();
    if fault.remaining == 0 {
        queue.remove(index);
    }
    Some(taken)
}

fn fault_response(state: &AppState, route_key: &str, fault: &Fault) -> Response {
    let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = fault.message.clone().unwrap_or_else(|| format!("Injected fault: {}", status.canonical_reason().unwrap_or("error")));
    // The token endpoint has its own error shape; clients parse it differently.
    let mut error = if route_key == TOKEN_ROUTE_KEY {
        let code = fault.code.as_deref().unwrap_or("BXNIM0400E");
        ApiError::iam_token(status, code, &message, state.base_url())
    } else {
        let code = fault.code.as_deref().unwrap_or(default_code_for_status(status));
        ApiError::platform(status, code, message)
    };
    if let Some(retry_after) = &fault.retry_after {
        error = error.with_header(header::RETRY_AFTER, retry_after.clone());
    }
    error.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    fn fault(route: Option<&str>, remaining: u32) -> Fault {
        Fault { route: route.map(String::from), status: 429, remaining, retry_after: None, code: None, message: None }
    }

    #[test]
    fn faults_are_consumed_in_order_and_by_route() {
        let mut queue = VecDeque::from([fault(Some("POST /v2/roles"), 2), fault(None, 1)]);
        assert!(take_matching_fault(&mut queue, "GET /v2/roles").is_some_and(|f| f.route.is_none()));
        assert!(take_matching_fault(&mut queue, "GET /v2/roles").is_none());
        assert!(take_matching_fault(&mut queue, "POST /v2/roles").is_some());
        assert!(take_matching_fault(&mut queue, "POST /v2/roles").is_some());
        assert!(take_matching_fault(&mut queue, "POST /v2/roles").is_none());
        assert!(queue.is_empty());
    }
}
