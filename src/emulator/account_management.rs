//! Account Management (COE v2) — the account itself (`GET /coe/v2/accounts/{account_id}`).
//!
//! Nothing is stored: the account is the emulator's own (`--account-id`), and its owner is the
//! fixed person below, who is also an `ACTIVE` user in User Management (see
//! [`super::user_management::seed_account_owner`]). Tests read [`OWNER_IAM_ID`] and [`OWNER_EMAIL`].
//!
//! UNCERTAIN: the field names (`metadata.guid`, `entity.owner_iam_id`, `entity.owner_unique_id`,
//! `entity.owner_userid`, `entity.state`) follow IBM's COE v2 accounts answer as the IBM CLI and
//! SDKs read it; IBM publishes no reference for this API. Errors use the platform shape.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

use super::errors::ApiError;
use super::iam_token::Caller;
use super::state::AppState;

/// The owner's IBMid unique id; their IAM ID is `IBMid-` + this.
pub const OWNER_UNIQUE_ID: &str = "2700000WNR";
/// IAM ID of the account owner, stable across restarts and state files.
pub const OWNER_IAM_ID: &str = "IBMid-2700000WNR";
pub const OWNER_EMAIL: &str = "owner@example.com";
pub const OWNER_FIRSTNAME: &str = "Account";
pub const OWNER_LASTNAME: &str = "Owner";
/// The account's display name.
pub const ACCOUNT_NAME: &str = "ibmqr emulator account";

pub fn routes() -> Router<AppState> {
    Router::new().route("/coe/v2/accounts/{account_id}", get(get_account))
}

async fn get_account(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(account_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    // UNCERTAIN: IBM may answer 404 rather than 403 for an account the caller is not in.
    if account_id != caller.account_id || account_id != state.account_id() {
        return Err(ApiError::platform(
            StatusCode::FORBIDDEN,
            "insufficent_permissions",
            format!("You are not a member of account '{account_id}'."),
        ));
    }
    Ok(Json(json!({
        "metadata": { "guid": account_id, "url": format!("/coe/v2/accounts/{account_id}") },
        "entity": {
            "name": ACCOUNT_NAME,
            "type": "PAYG",
            "state": "ACTIVE",
            "owner_userid": OWNER_EMAIL,
            "owner_unique_id": OWNER_UNIQUE_ID,
            "owner_iam_id": OWNER_IAM_ID,
            "country_code": "USA",
            "currency_code": "USD",
        },
    })))
}

#[cfg(test)]
mod tests {
    use reqwest::{Method, StatusCode};

    use super::*;
    use crate::emulator::tests::Harness;
    use crate::emulator::EmulatorConfig;

    #[test]
    fn owner_iam_id_is_ibmid_of_the_unique_id() {
        assert_eq!(OWNER_IAM_ID, format!("IBMid-{OWNER_UNIQUE_ID}"));
        assert_eq!(super::super::access_groups::member_type(OWNER_IAM_ID), Some("user"));
    }

    #[tokio::test]
    async fn the_account_names_its_owner_who_is_an_active_user() {
        let h = Harness::start(EmulatorConfig { lag_ms: 60_000, ..EmulatorConfig::default() }).await;
        let (status, body, _) = h.call(Method::GET, &format!("/coe/v2/accounts/{}", h.account()), None, &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["metadata"]["guid"], h.account());
        assert_eq!((body["entity"]["owner_iam_id"].as_str(), body["entity"]["state"].as_str()), (Some(OWNER_IAM_ID), Some("ACTIVE")));
        assert_eq!(body["entity"]["owner_unique_id"], OWNER_UNIQUE_ID);
        let (status, _, _) = h.call(Method::GET, "/coe/v2/accounts/ffffffffffffffffffffffffffffffff", None, &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        let users = format!("/v2/accounts/{}/users", h.account());
        let (status, body, _) = h.call(Method::GET, &users, None, &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["total_results"], 1);
        let owner = &body["resources"][0];
        assert_eq!((owner["iam_id"].as_str(), owner["email"].as_str()), (Some(OWNER_IAM_ID), Some(OWNER_EMAIL)));
        assert_eq!((owner["state"].as_str(), owner["realm"].as_str()), (Some("ACTIVE"), Some("IBMid")));
        let (status, _, _) = h.call(Method::DELETE, &format!("{users}/{OWNER_IAM_ID}"), None, &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "the owner stays");
        let invite = serde_json::json!({"users": [{"email": "Owner@Example.com"}]});
        let (status, _, _) = h.call(Method::POST, &users, Some(invite), &[]).await;
        assert_eq!(status, StatusCode::CONFLICT, "the owner is already a user");
    }

    #[tokio::test]
    async fn the_owner_is_seeded_once_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = EmulatorConfig { state_file: Some(dir.path().join("state.json")), ..EmulatorConfig::default() };
        let object = format!("/_emulator/objects/users/{OWNER_IAM_ID}");
        let first = Harness::start(cfg.clone()).await;
        let (_, before) = first.admin(Method::GET, &object, None).await;
        drop(first);
        let second = Harness::start(cfg).await;
        let (_, after) = second.admin(Method::GET, &object, None).await;
        assert_eq!((after["revision"].as_u64(), &after["etag"]), (Some(1), &before["etag"]));
        let (_, kinds) = second.admin(Method::GET, "/_emulator/objects", None).await;
        assert_eq!(kinds["kinds"]["users"], 1);
    }
}
