//! Creates that never duplicate nor orphan an object when an answer is lost.
//!
//! A create whose outcome is unknown (a 5xx, a reset connection, a timeout after sending) may
//! have made the object. Before any new attempt the object is looked for, and IBM shows new
//! objects to reads only after a lag, so the look may have to wait:
//!
//! - where IBM refuses a second object with the same key (a name, an email, a policy's subject
//!   and resource), one look and then a retry are safe: a retry that meets "already exists"
//!   waits until the object shows, and adopts it when it is the one this create made;
//! - where IBM accepts duplicates (instances), the look waits out the consistency lag before
//!   the retry, since a retry could make a second object.
//!
//! "The one this create made" means: the settings asked for, and, where IBM records them, made
//! by this caller after this create began. An object that fails either stays someone else's, and
//! the create reports the conflict (the resource turns that into "already exists, import it").

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::http::{backoff, ApiResponse, RequestBuilder};
use super::wait::sleep_or_cancel;
use super::{Client, Error};

/// How long a found-nothing look keeps looking when IBM accepts duplicates. IBM documents no
/// bound for its consistency lag (UNCERTAIN); seconds are what has been seen.
pub const CONSISTENCY_WINDOW: Duration = Duration::from_secs(10);
/// How long a retry that met "already exists" waits for the existing object to show. It exists,
/// so this waits only while IBM makes it visible.
const CONFLICT_WINDOW: Duration = Duration::from_secs(60);
/// Clocks of this machine and IBM's may differ: an object stamped up to this long before the
/// create began still counts as made by it.
const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// Whether IBM keeps a second object of the same key from being made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    /// A duplicate is refused (409, or the API's own "name taken" code).
    Enforced,
    /// Duplicates are accepted: the look must wait out the lag before a retry.
    NotEnforced,
}

/// Who is creating, and since when: what a found object's creator and creation time are
/// compared with.
#[derive(Debug, Clone)]
pub struct CreateAttempt {
    pub caller_iam_id: String,
    pub began: SystemTime,
}

/// The creator IBM recorded for an object, if it records one.
fn recorded_creator(body: &Value) -> Option<&str> {
    ["created_by_id", "created_by", "createdBy"].iter().find_map(|f| body.get(*f).and_then(Value::as_str)).filter(|c| !c.is_empty())
}

impl CreateAttempt {
    /// Whether IBM's record of the object, where it has one, says this caller made it after the
    /// create began. Fields IBM leaves out count as agreeing.
    pub fn made_it(&self, body: &Value) -> bool {
        if recorded_creator(body).is_some_and(|c| c != self.caller_iam_id) {
            return false;
        }
        let created_at = ["created_at", "createdAt", "created"]
            .iter()
            .find_map(|f| body.get(*f).and_then(Value::as_str))
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
        let earliest = OffsetDateTime::from(self.began) - CLOCK_SKEW;
        created_at.is_none_or(|at| at >= earliest)
    }
}

/// Whether an error says the object exists already: a 409, or a create-specific code.
pub(crate) fn is_already_exists(err: &Error) -> bool {
    const TAKEN_CODES: [&str; 1] = [super::resource_manager::GROUP_NAME_TAKEN];
    err.status() == Some(409) || err.api_code().is_some_and(|c| TAKEN_CODES.contains(&c))
}

impl Client {
    /// Sends a create (`build`, marked `.creates()`). When its outcome is unknown, `lookup` finds
    /// the object it may have made, and `same_settings` tells whether a found object has the
    /// settings asked for; see the module's description for the waits. Found and made by this
    /// create → that response; else the create is tried again, at most `max_retries` times.
    pub async fn create_with_lookup<B, L, Fut, S>(
        &self,
        build: B,
        mut lookup: L,
        uniqueness: Uniqueness,
        same_settings: S,
    ) -> Result<ApiResponse, Error>
    where
        B: Fn() -> RequestBuilder,
        L: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<ApiResponse>, Error>>,
        S: Fn(&Value) -> bool,
    {
        let began = SystemTime::now();
        let ours = |found: &ApiResponse| same_settings(&found.body);
        let mut unknown_outcomes: u32 = 0;
        loop {
            match build().creates().send().await {
                Err(err @ Error::OutcomeUnknown { .. }) => {
                    log::warn!("{err}; looking the object up before trying again");
                    let window = match uniqueness {
                        Uniqueness::Enforced => Duration::ZERO,
                        Uniqueness::NotEnforced => CONSISTENCY_WINDOW,
                    };
                    if let Some(found) =
                        self.look_for(&mut lookup, &ours, began, window, uniqueness == Uniqueness::Enforced, unknown_outcomes).await?
                    {
                        return Ok(found);
                    }
                    if unknown_outcomes >= self.inner.cfg.max_retries {
                        return Err(err);
                    }
                    unknown_outcomes += 1;
                }
                // An earlier attempt may have made what this one collides with, still invisible.
                Err(err) if unknown_outcomes > 0 && is_already_exists(&err) => {
                    log::warn!("{err} after an attempt whose answer was lost; looking for the object that attempt made");
                    return match self.look_for(&mut lookup, &ours, began, CONFLICT_WINDOW, true, 0).await? {
                        Some(found) => Ok(found),
                        None => Err(err),
                    };
                }
                other => return other,
            }
        }
    }

    /// Whether IBM's record says this caller made the object after `began` (see
    /// [`CreateAttempt::made_it`]); the caller is asked for only when IBM records a creator.
    async fn made_by_this_create(&self, body: &Value, began: SystemTime) -> Result<bool, Error> {
        let caller_iam_id = match recorded_creator(body) {
            Some(_) => self.identity().await?.iam_id,
            None => String::new(),
        };
        Ok(CreateAttempt { caller_iam_id, began }.made_it(body))
    }

    /// Looks until `lookup` finds an object or `window` has passed (at least one look, after a
    /// short pause so that a create that went through can show). A found object is returned
    /// when it is this create's; one that is not ends the look where keys are unique.
    async fn look_for<L, Fut>(
        &self,
        lookup: &mut L,
        same_settings: &impl Fn(&ApiResponse) -> bool,
        began: SystemTime,
        window: Duration,
        stop_at_others: bool,
        round: u32,
    ) -> Result<Option<ApiResponse>, Error>
    where
        L: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<ApiResponse>, Error>>,
    {
        let deadline = Instant::now() + window;
        let mut pause = round;
        loop {
            sleep_or_cancel(&self.inner.cancel, backoff(pause)).await?;
            if let Some(found) = lookup().await? {
                if same_settings(&found) && self.made_by_this_create(&found.body, began).await? {
                    return Ok(Some(found));
                }
                // Where keys are unique, the key is taken by another object: no use looking on.
                // Elsewhere the object this create made may still show up beside it.
                if stop_at_others {
                    log::warn!("an object with the same key exists, but this create did not make it");
                    return Ok(None);
                }
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            pause += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attempt() -> CreateAttempt {
        let began = OffsetDateTime::parse("2026-12-08T10:00:00Z", &Rfc3339).expect("time");
        CreateAttempt { caller_iam_id: "iam-ServiceId-me".into(), began: began.into() }
    }

    #[test]
    fn an_object_is_this_creates_when_ibm_records_nothing_against_it() {
        let a = attempt();
        assert!(a.made_it(&json!({"name": "x"})), "no record: agreed");
        assert!(a.made_it(&json!({"created_by_id": "iam-ServiceId-me", "created_at": "2026-12-08T10:00:02Z"})));
        assert!(a.made_it(&json!({"created_at": "2026-12-08T09:59:30Z"})), "within the clock skew");
        assert!(!a.made_it(&json!({"created_by_id": "IBMid-someone-else"})), "another creator");
        assert!(!a.made_it(&json!({"created_by": "iam-ServiceId-me", "created_at": "2026-12-01T10:00:00Z"})), "made a week ago");
    }

    #[test]
    fn already_exists_is_a_409_or_a_name_taken_code() {
        let conflict = Error::Api(crate::ibmcloud::ApiError::from_body(409, br#"{"errors":[{"code":"role_conflict_error"}]}"#));
        assert!(is_already_exists(&conflict));
        let taken = Error::Api(crate::ibmcloud::ApiError::from_body(
            400,
            format!(r#"{{"errors":[{{"code":"{}"}}]}}"#, crate::ibmcloud::resource_manager::GROUP_NAME_TAKEN).as_bytes(),
        ));
        assert!(is_already_exists(&taken));
        assert!(!is_already_exists(&Error::Api(crate::ibmcloud::ApiError::from_body(400, b"{}"))));
    }

    /// A role whose create answer is lost (500), which the first look cannot see yet (IBM's lag),
    /// and whose retry meets 409: adopted when `creator` is this caller, refused otherwise.
    async fn lost_role_create(creator: &'static str) -> (Result<crate::ibmcloud::CustomRole, Error>, usize) {
        use crate::ibmcloud::testing::{test_client, Mock, Reply};
        let made = OffsetDateTime::now_utc().format(&Rfc3339).expect("now");
        let role = move || {
            json!({"id": "r-1", "name": "QiskitAdmin", "display_name": "Qiskit admin", "actions": ["quantum-computing.job.read"],
                   "account_id": "acct-from-token", "service_name": "quantum-computing",
                   "crn": "crn:v1:ibmcloud:public:iam-access-management::a/acct-from-token::customRole:QiskitAdmin",
                   "created_by_id": creator, "created_at": made})
        };
        let mock = Mock::start(move |req, n| match (req.method.as_str(), req.path.as_str(), n) {
            ("POST", "/v2/roles", 0) => Reply::json(500, json!({"errors": [{"code": "internal_error"}]})),
            ("POST", "/v2/roles", _) => Reply::json(409, json!({"errors": [{"code": "role_conflict_error", "message": "exists"}]})),
            ("GET", "/v2/roles", 0) => Reply::json(200, json!({"custom_roles": []})),
            ("GET", "/v2/roles", _) => Reply::json(200, json!({"custom_roles": [role()]})),
            ("GET", "/v2/roles/r-1", _) => Reply::json(200, role()).header("ETag", "\"1\""),
            _ => Reply::json(404, json!({})),
        })
        .await;
        let client = test_client(&mock, 3);
        let new = crate::ibmcloud::NewCustomRole {
            name: "QiskitAdmin".into(),
            display_name: "Qiskit admin".into(),
            description: None,
            actions: vec!["quantum-computing.job.read".into()],
            account_id: String::new(),
            service_name: "quantum-computing".into(),
        };
        let result = client.create_custom_role(&new).await.map(|(role, _etag)| role);
        (result, mock.count("POST", "/v2/roles"))
    }

    #[tokio::test]
    async fn a_conflict_after_a_lost_answer_adopts_what_this_caller_just_made() {
        let (adopted, posts) = lost_role_create("iam-ServiceId-test").await;
        assert_eq!(adopted.expect("adopted").id, "r-1");
        assert_eq!(posts, 2, "one retry, no third create");
    }

    #[tokio::test]
    async fn a_conflict_with_someone_elses_object_stays_a_conflict() {
        let (refused, _) = lost_role_create("IBMid-someone-else").await;
        let err = refused.expect_err("not ours");
        assert_eq!(err.status(), Some(409), "{err}");
        assert_eq!(err.api_code(), Some("role_conflict_error"), "IBM's conflict, for the resource to report: {err}");
    }
}
