//! Login simulation, `POST /_emulator/login` with `{"realm", "email", "claims"?}`: what IAM does
//! when a federated user logs in through an identity provider.
//!
//! 1. The realm names the IdP (`appid://REALM_ID`, or a SAML IdP's SP entity ID).
//! 2. The claims: for App ID, built from the Cloud Directory user's profile attributes through the
//!    instance's token configuration (`idTokenClaims` with source `attributes`); for SAML, those
//!    the request carries (the campus IdP's assertion).
//! 3. Onboarding as the IdP's login setting says: `STATIC` (IAM's default) and `DYNAMIC` add the
//!    user at first login, `NEVER` adds nobody. IAM's docs say `STATIC` adds the user at first
//!    login while terraform-provider-ibm's docs say such users must be pre-provisioned
//!    (UNCERTAIN); the emulator follows IAM's docs.
//! 4. Every dynamic rule of the realm is evaluated with IBM's operators; the user is a dynamic
//!    member of each group that has a matching rule, for that rule's `expiration` hours, and
//!    leaves every group of the realm whose rules no longer match. Expired memberships are dropped.
//!
//! Answers `{"iam_id", "realm", "claims", "groups": [id…], "group_names": [name…]}`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::access_groups::{GROUPS, MEMBERS, RULES};
use super::appid;
use super::errors::{parse_json_object, ApiError};
use super::iam_idps;
use super::state::{iso_timestamp, AppState, Txn};
use super::user_management::USERS;

/// Dynamic memberships, id `GROUP/IAM_ID`, apart from the static ones.
pub const DYNAMIC_MEMBERS: &str = "access_group_dynamic_members";

pub fn routes() -> Router<AppState> {
    Router::new().route("/_emulator/login", post(login))
}

fn refused(status: StatusCode, message: impl Into<String>) -> ApiError {
    ApiError::platform(status, "login_failed", message)
}

/// A federated user's IAM ID, stable per realm and e-mail (letter case ignored). The `IBMid-`
/// prefix makes it a `user` member for Access Groups; real federated IDs' form is UNCERTAIN.
pub fn federated_iam_id(realm: &str, email: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in format!("{realm}\n{}", email.trim().to_lowercase()).bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("IBMid-{:010x}", (hash >> 8) & 0xff_ffff_ffff)
}

/// The claim's values as text: a list gives each element, anything else itself.
fn claim_texts(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().flat_map(claim_texts).collect(),
        Value::String(s) => vec![s.clone()],
        Value::Null => vec![],
        other => vec![other.to_string()],
    }
}

/// One condition against the claims; a missing claim matches nothing.
pub fn condition_holds(claims: &Map<String, Value>, claim: &str, operator: &str, value: &str) -> bool {
    let Some(texts) = claims.get(claim).map(claim_texts) else { return false };
    if texts.is_empty() {
        return false;
    }
    match operator {
        "EQUALS" => texts.iter().any(|t| t == value),
        "EQUALS_IGNORE_CASE" => texts.iter().any(|t| t.eq_ignore_ascii_case(value)),
        "NOT_EQUALS" => texts.iter().all(|t| t != value),
        "NOT_EQUALS_IGNORE_CASE" => texts.iter().all(|t| !t.eq_ignore_ascii_case(value)),
        // A substring match: `ml` also matches `mlops` (IBM's own warning).
        "CONTAINS" => texts.iter().any(|t| t.contains(value)),
        "IN" => {
            let options: Vec<String> = match serde_json::from_str::<Value>(value) {
                Ok(Value::Array(items)) => items.iter().flat_map(claim_texts).collect(),
                _ => value.split(',').map(|s| s.trim().to_string()).collect(),
            };
            texts.iter().any(|t| options.contains(t))
        }
        _ => false,
    }
}

fn rule_matches(rule: &Value, claims: &Map<String, Value>) -> bool {
    let conditions = rule["conditions"].as_array().cloned().unwrap_or_default();
    !conditions.is_empty()
        && conditions.iter().all(|c| {
            condition_holds(
                claims,
                c["claim"].as_str().unwrap_or_default(),
                c["operator"].as_str().unwrap_or_default(),
                c["value"].as_str().unwrap_or_default(),
            )
        })
}

fn claims_of(tx: &mut Txn<'_>, idp: &Value, email: &str, sent: Option<&Value>) -> Result<Map<String, Value>, ApiError> {
    if idp["type"] == "appid" {
        let tenant = iam_idps::appid_tenant(&idp["properties"])
            .ok_or_else(|| refused(StatusCode::BAD_REQUEST, "the identity provider names no App ID instance"))?;
        return appid::id_token_claims(tx, &tenant, email)
            .map_err(|why| refused(StatusCode::UNAUTHORIZED, format!("login refused: {why}")));
    }
    let mut claims = match sent {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(c)) => c.clone(),
        Some(_) => return Err(ApiError::invalid_body("'claims' must be an object.")),
    };
    claims.entry("email").or_insert_with(|| json!(email));
    Ok(claims)
}

async fn login(State(state): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let body = parse_json_object(&body)?;
    let realm = body
        .get("realm")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::invalid_body("'realm' is required."))?
        .to_string();
    let email = body
        .get("email")
        .and_then(Value::as_str)
        .filter(|e| e.contains('@'))
        .ok_or_else(|| ApiError::invalid_body("'email' is required."))?
        .to_string();
    let answer = state.with_objects(|tx| {
        let idp = iam_idps::idp_for_realm(tx, &realm).ok_or_else(|| refused(StatusCode::NOT_FOUND, format!("no identity provider has the realm {realm:?}")))?;
        let account_id = idp["account_id"].as_str().unwrap_or_default().to_string();
        let idp_id = idp["idp_id"].as_str().unwrap_or_default().to_string();
        let (strategy, enabled) = iam_idps::onboarding(tx, &account_id, &idp_id);
        if idp["active"] == false || !enabled {
            return Err(refused(StatusCode::FORBIDDEN, format!("the identity provider {} is not enabled for login", idp["name"])));
        }
        let claims = claims_of(tx, &idp, &email, body.get("claims"))?;
        let iam_id = federated_iam_id(&realm, &email);
        if tx.get(USERS, &iam_id).is_none() {
            if strategy == "NEVER" {
                return Err(refused(StatusCode::FORBIDDEN, "the identity provider's onboarding is NEVER: users are not added to the account"));
            }
            let user = json!({
                "id": iam_id, "iam_id": iam_id, "realm": realm, "user_id": email, "email": email,
                "firstname": claims.get("given_name").cloned().unwrap_or(json!("")), "lastname": claims.get("family_name").cloned().unwrap_or(json!("")),
                "state": "ACTIVE", "account_id": account_id, "added_on": iso_timestamp(tx.now_ms()),
            });
            tx.create(USERS, &iam_id, user);
        }
        let now = tx.now_ms();
        // Expired dynamic memberships end, wherever they came from.
        let suffix = format!("/{iam_id}");
        let expired: Vec<String> = tx
            .iter_all(DYNAMIC_MEMBERS)
            .filter(|(k, r)| k.ends_with(&suffix) && r.value["_expires_at_ms"].as_u64().is_some_and(|t| t <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for k in expired {
            tx.remove(DYNAMIC_MEMBERS, &k);
        }
        let rules: Vec<Value> = tx.iter_visible(RULES).map(|(_, r)| r.value.clone()).filter(|r| r["realm_name"] == *realm).collect();
        let mut groups_of_realm: Vec<String> = rules.iter().filter_map(|r| r["access_group_id"].as_str().map(str::to_string)).collect();
        groups_of_realm.sort();
        groups_of_realm.dedup();
        for group in groups_of_realm {
            let key = format!("{group}/{iam_id}");
            let best = rules
                .iter()
                .filter(|r| r["access_group_id"] == *group && rule_matches(r, &claims))
                .map(|r| r["expiration"].as_u64().unwrap_or(12))
                .max();
            match best {
                Some(hours) => {
                    let member = json!({
                        "access_group_id": group, "iam_id": iam_id, "type": "user", "membership_type": "dynamic",
                        "created_at": iso_timestamp(now), "_expires_at_ms": now + hours * 3_600_000,
                    });
                    if tx.update(DYNAMIC_MEMBERS, &key, member.clone()).is_none() {
                        tx.create(DYNAMIC_MEMBERS, &key, member);
                    }
                }
                None => {
                    tx.remove(DYNAMIC_MEMBERS, &key);
                }
            }
        }
        let mut groups: Vec<String> = tx
            .iter_all(MEMBERS)
            .chain(tx.iter_all(DYNAMIC_MEMBERS))
            .filter(|(k, _)| k.ends_with(&suffix))
            .filter_map(|(_, r)| r.value["access_group_id"].as_str().map(str::to_string))
            .collect();
        groups.sort();
        groups.dedup();
        let names: Vec<Value> = groups.iter().map(|g| tx.get(GROUPS, g).map(|r| r.value["name"].clone()).unwrap_or(Value::Null)).collect();
        Ok::<_, ApiError>(json!({"iam_id": iam_id, "realm": realm, "claims": claims, "groups": groups, "group_names": names}))
    })?;
    Ok(Json(answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_follow_ibm() {
        let claims: Map<String, Value> = serde_json::from_value(json!({"project": "ml chem", "list": ["a", "b"], "n": 3})).unwrap();
        assert!(condition_holds(&claims, "project", "CONTAINS", "ml"));
        assert!(condition_holds(&claims, "project", "CONTAINS", "m"), "a substring matches");
        assert!(!condition_holds(&claims, "project", "EQUALS", "ml"));
        assert!(condition_holds(&claims, "project", "EQUALS_IGNORE_CASE", "ML CHEM"));
        assert!(condition_holds(&claims, "project", "NOT_EQUALS", "ml"));
        assert!(condition_holds(&claims, "list", "IN", "[\"b\",\"c\"]"));
        assert!(condition_holds(&claims, "n", "EQUALS", "3"));
        assert!(!condition_holds(&claims, "missing", "NOT_EQUALS", "x"), "a missing claim matches nothing");
    }

    #[test]
    fn federated_ids_are_per_realm_and_ignore_case() {
        assert_eq!(federated_iam_id("appid://A", "Ada@x.org"), federated_iam_id("appid://A", "ada@x.org"));
        assert_ne!(federated_iam_id("appid://A", "ada@x.org"), federated_iam_id("appid://B", "ada@x.org"));
        assert!(federated_iam_id("r", "a@b").starts_with("IBMid-"));
    }
}
