//! User Management: invite, list, get and remove the account's users
//! (`https://user-management.cloud.ibm.com/v2/accounts/{account_id}/users`).
//!
//! Invites are asynchronous (`PROCESSING` → `PENDING`); callers poll with [`Client::find_user_by_email`].

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::oneshot;

use super::{path_segment, Api, Client, Error, Method, PageStyle, Uniqueness};

/// A user of the account (`UserProfile`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserProfile {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub iam_id: String,
    #[serde(default)]
    pub email: String,
    /// `PROCESSING`, `PENDING`, `ACTIVE`, `ERROR_WHILE_PROCESSING`, …
    #[serde(default)]
    pub state: String,
    /// A finer state or the reason of an error state, when IBM gives one (UNCERTAIN field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub substate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// `IBMid`, or the realm of the identity provider a federated user logged in through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
}

/// Emails one batched search asks for (the search takes `email:a,email:b,…`, an OR of terms).
const SEARCH_BATCH: usize = 20;

/// What a batched look-up tells each waiter: the person, nobody with that email, or that the
/// batch failed (the caller then asks on its own, and gets that request's own error).
type BatchAnswer = Result<Option<UserProfile>, ()>;

/// Look-ups by email waiting for the next batched search; see [`Client::find_user_batched`].
#[derive(Default)]
pub(crate) struct UserSearches {
    state: Mutex<SearchQueue>,
}

#[derive(Default)]
struct SearchQueue {
    waiting: Vec<(String, oneshot::Sender<BatchAnswer>)>,
    /// A task is sending searches; it takes whatever waits when its current one returns.
    running: bool,
}

impl UserSearches {
    fn lock(&self) -> std::sync::MutexGuard<'_, SearchQueue> {
        // A queue of senders stays valid whatever a panicking holder did.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Emails are compared ignoring letter case, as IBM does.
pub fn same_email(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// The `search` term that finds `email`. A `,` would separate OR terms, so it is cut off there:
/// the term stays a substring of the address and the exact comparison still decides.
fn email_search(email: &str) -> String {
    let email = email.trim();
    format!("email:{}", email.split(',').max_by_key(|part| part.len()).unwrap_or(email))
}

impl Client {
    fn users_path(account_id: &str) -> String {
        format!("/v2/accounts/{}/users", path_segment(account_id))
    }

    /// Every user of the account (all pages, `next_url`).
    pub async fn list_users(&self) -> Result<Vec<UserProfile>, Error> {
        let account_id = self.identity().await?.account_id;
        let items = self
            .collect_pages(Api::UserManagement, &Self::users_path(&account_id), &[("limit", "100")], "resources", PageStyle::NextUrl)
            .await?;
        items.into_iter().map(|i| serde_json::from_value(i).map_err(|e| Error::Decode(format!("user profile: {e}")))).collect()
    }

    /// The account's user with this email (ignoring case), if any. Asks User Management's search
    /// (`search=email:<email>`), so the cost does not grow with the account; the search matches
    /// substrings (`ada@x.com` also finds `lovelace.ada@x.com`), hence the exact comparison here.
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<UserProfile>, Error> {
        Ok(self.search_users_by_emails(&[email]).await?.into_iter().find(|u| same_email(&u.email, email)))
    }

    /// Like [`Client::find_user_by_email`], but look-ups made while a search is on its way are
    /// answered together by the next one (`search=email:a,email:b,…`): while Terraform reads many
    /// invitations at once, one request serves several. `Err(())` means the batch failed; ask
    /// with [`Client::find_user_by_email`] or [`Client::get_user`] then, to get its error.
    pub async fn find_user_batched(&self, email: &str) -> Result<Option<UserProfile>, ()> {
        let (answer, answered) = oneshot::channel();
        let start = {
            let mut queue = self.inner.user_searches.lock();
            queue.waiting.push((email.to_owned(), answer));
            !std::mem::replace(&mut queue.running, true)
        };
        if start {
            let client = self.clone();
            tokio::spawn(async move { client.send_batched_searches().await });
        }
        answered.await.unwrap_or(Err(()))
    }

    async fn send_batched_searches(&self) {
        loop {
            let batch: Vec<(String, oneshot::Sender<BatchAnswer>)> = {
                let mut queue = self.inner.user_searches.lock();
                if queue.waiting.is_empty() {
                    queue.running = false;
                    return;
                }
                let n = queue.waiting.len().min(SEARCH_BATCH);
                queue.waiting.drain(..n).collect()
            };
            let emails: Vec<&str> = batch.iter().map(|(e, _)| e.as_str()).collect();
            let found = self.search_users_by_emails(&emails).await;
            for (email, answer) in batch {
                let mine = match &found {
                    Ok(users) => Ok(users.iter().find(|u| same_email(&u.email, &email)).cloned()),
                    Err(e) => {
                        log::debug!("batched user search failed ({e}); each look-up asks on its own");
                        Err(())
                    }
                };
                // A waiter that went away (cancelled) needs no answer.
                let _ = answer.send(mine);
            }
        }
    }

    /// Everyone whose email contains one of `emails` (one search, all pages).
    async fn search_users_by_emails(&self, emails: &[&str]) -> Result<Vec<UserProfile>, Error> {
        let account_id = self.identity().await?.account_id;
        let search = emails.iter().map(|e| email_search(e)).collect::<Vec<_>>().join(",");
        let items = self
            .collect_pages(
                Api::UserManagement,
                &Self::users_path(&account_id),
                &[("limit", "100"), ("search", &search)],
                "resources",
                PageStyle::NextUrl,
            )
            .await?;
        items.into_iter().map(|i| serde_json::from_value(i).map_err(|e| Error::Decode(format!("user profile: {e}")))).collect()
    }

    /// The user with this IAM ID; `None` if not in the account.
    pub async fn get_user(&self, iam_id: &str) -> Result<Option<UserProfile>, Error> {
        let account_id = self.identity().await?.account_id;
        let path = format!("{}/{}", Self::users_path(&account_id), path_segment(iam_id));
        match self.request(Api::UserManagement, Method::GET, path).send().await {
            Ok(r) => Ok(Some(r.json()?)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Invites one person as a member, into `access_groups`. The answer (202) only acknowledges
    /// the request; the user shows up in lists as `PROCESSING`, then `PENDING`.
    pub async fn invite_user(&self, email: &str, access_groups: &[String]) -> Result<(), Error> {
        let account_id = self.identity().await?.account_id;
        // IBM adds the person to these groups once it has processed the invitation.
        self.forget_members_of(access_groups);
        let body = json!({
            // UNCERTAIN: IBM's accepted account_role values; "Member" is what the SDK examples send.
            "users": [{"email": email, "account_role": "Member"}],
            "access_groups": access_groups,
        });
        self.create_with_lookup(
            || self.request(Api::UserManagement, Method::POST, Self::users_path(&account_id)).json(&body),
            || async {
                // An invite that went through lists the person; answer as if the POST had succeeded.
                Ok(self.find_user_by_email(email).await?.map(|_| super::ApiResponse {
                    status: 202,
                    etag: None,
                    body: serde_json::Value::Null,
                    headers: Default::default(),
                }))
            },
            // A person already in the account is refused (409 `user_already_exists`).
            Uniqueness::Enforced,
            |_| true,
        )
        .await?;
        Ok(())
    }

    /// Removes a user (pending invites included) from the account; already gone counts as removed.
    pub async fn remove_user(&self, iam_id: &str) -> Result<(), Error> {
        let account_id = self.identity().await?.account_id;
        let path = format!("{}/{}", Self::users_path(&account_id), path_segment(iam_id));
        self.request(Api::UserManagement, Method::DELETE, path).send_absent_ok().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_compare_ignoring_case() {
        assert!(same_email("Ada@Example.com", "ada@example.com"));
        assert!(!same_email("ada@example.com", "ada@example.org"));
    }

    #[test]
    fn the_search_term_is_the_address() {
        assert_eq!(email_search(" Ada@Example.com "), "email:Ada@Example.com");
        assert_eq!(email_search("\"a,b\"@example.com"), "email:b\"@example.com");
    }

    #[tokio::test]
    async fn look_ups_made_while_a_search_is_out_share_the_next_one() {
        use crate::ibmcloud::testing::{query_map, test_client, Mock, Reply};
        use std::time::Duration;
        let mock = Mock::start(|req, _| {
            let search = query_map(&req.query).remove("search").unwrap_or_default();
            let users: Vec<_> = search
                .split(',')
                .filter_map(|term| term.strip_prefix("email:"))
                .filter(|email| !email.starts_with("nobody"))
                .map(|email| json!({"iam_id": format!("IBMid-{email}"), "email": email, "state": "PENDING"}))
                .collect();
            Reply::json(200, json!({ "resources": users })).delay(Duration::from_millis(200))
        })
        .await;
        let client = test_client(&mock, 0);
        let first = {
            let client = client.clone();
            tokio::spawn(async move { client.find_user_batched("p0@example.edu").await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let later: Vec<_> = ["p1@example.edu", "p2@example.edu", "nobody@example.edu"]
            .into_iter()
            .map(|email| {
                let client = client.clone();
                tokio::spawn(async move { client.find_user_batched(email).await })
            })
            .collect();
        assert_eq!(first.await.unwrap().unwrap().unwrap().iam_id, "IBMid-p0@example.edu");
        let answers: Vec<_> = futures::future::join_all(later).await.into_iter().map(|a| a.unwrap().unwrap()).collect();
        assert_eq!(answers[0].as_ref().map(|u| u.iam_id.as_str()), Some("IBMid-p1@example.edu"));
        assert_eq!(answers[1].as_ref().map(|u| u.iam_id.as_str()), Some("IBMid-p2@example.edu"));
        assert_eq!(answers[2], None);
        // The first search, then one for the three that came while it was out.
        let searches = mock.requests_to("/v2/accounts/acct-from-token/users");
        assert_eq!(searches.len(), 2);
        assert_eq!(query_map(&searches[1].query)["search"].split(',').count(), 3);
    }

    #[tokio::test]
    async fn a_failed_batch_tells_each_look_up_to_ask_alone() {
        use crate::ibmcloud::testing::{test_client, Mock, Reply};
        let mock = Mock::start(|_, _| Reply::json(403, json!({"errors": [{"code": "forbidden", "message": "no"}]}))).await;
        let client = test_client(&mock, 0);
        assert_eq!(client.find_user_batched("ada@example.edu").await, Err(()));
        assert!(client.find_user_by_email("ada@example.edu").await.unwrap_err().to_string().contains("403"));
    }

    #[tokio::test]
    async fn a_user_is_found_by_search_and_exact_email() {
        use crate::ibmcloud::testing::{query_map, test_client, Mock, Reply};
        let mock = Mock::start(|req, _| {
            let q = query_map(&req.query);
            assert_eq!(q.get("search").map(String::as_str), Some("email:ada@example.com"));
            // Substring matches come back too; only the exact address counts.
            Reply::json(
                200,
                json!({"resources": [
                    {"iam_id": "IBMid-2", "email": "lovelace.ada@example.com", "state": "ACTIVE"},
                    {"iam_id": "IBMid-1", "email": "Ada@Example.com", "state": "PENDING"},
                ]}),
            )
        })
        .await;
        let client = test_client(&mock, 0);
        let user = client.find_user_by_email("ada@example.com").await.unwrap().unwrap();
        assert_eq!(user.iam_id, "IBMid-1");
        assert_eq!(mock.count("GET", "/v2/accounts/acct-from-token/users"), 1);
    }
}
