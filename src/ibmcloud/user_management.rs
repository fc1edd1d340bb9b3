//! User Management: invite, list, get and remove the account's users
//! (`https://user-management.cloud.ibm.com/v2/accounts/{account_id}/users`).
//!
//! Invites are asynchronous (`PROCESSING` → `PENDING`); callers poll with [`Client::find_user_by_email`].

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{path_segment, Api, Client, Error, Method, PageStyle};

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
        let account_id = self.identity().await?.account_id;
        let search = email_search(email);
        let items = self
            .collect_pages(
                Api::UserManagement,
                &Self::users_path(&account_id),
                &[("limit", "100"), ("search", &search)],
                "resources",
                PageStyle::NextUrl,
            )
            .await?;
        for item in items {
            let user: UserProfile = serde_json::from_value(item).map_err(|e| Error::Decode(format!("user profile: {e}")))?;
            if same_email(&user.email, email) {
                return Ok(Some(user));
            }
        }
        Ok(None)
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
