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
    /// `IBMid`, or the realm of the identity provider a federated user logged in through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
}

/// Emails are compared ignoring letter case, as IBM does.
pub fn same_email(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
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

    /// The account's user with this email (ignoring case), if any.
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<UserProfile>, Error> {
        Ok(self.list_users().await?.into_iter().find(|u| same_email(&u.email, email)))
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
}
