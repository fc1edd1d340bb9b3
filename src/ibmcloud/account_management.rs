//! Account Management (COE v2): the account itself (`GET /coe/v2/accounts/{account_id}`), read
//! for its owner, whom an adopted account must never list as a user to manage.

use serde_json::Value;

use super::{path_segment, Api, Client, Error, Method};

/// The owner's IAM ID in an account answer: `entity.owner_iam_id`, or `owner_iam_id` at the top.
/// UNCERTAIN: IBM publishes no reference for this API; SDKs read the `{metadata, entity}` form,
/// and the flat form is accepted in case a version answers without the envelope.
pub(crate) fn owner_iam_id(account: &Value) -> Result<String, Error> {
    account
        .pointer("/entity/owner_iam_id")
        .or_else(|| account.get("owner_iam_id"))
        .and_then(Value::as_str)
        .filter(|id| !id.trim().is_empty())
        .map(str::to_owned)
        .ok_or_else(|| Error::Decode("the account answer names no owner_iam_id".into()))
}

impl Client {
    /// The IAM ID (`IBMid-…`) of the account owner.
    pub async fn account_owner_iam_id(&self) -> Result<String, Error> {
        let account_id = self.identity().await?.account_id;
        let path = format!("/coe/v2/accounts/{}", path_segment(&account_id));
        let resp = self.request(Api::AccountManagement, Method::GET, path).send().await?;
        owner_iam_id(&resp.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ibmcloud::testing::{test_client, Mock, Reply};
    use serde_json::json;

    #[test]
    fn owner_from_the_entity_or_the_top_level() {
        let enveloped = json!({"metadata": {"guid": "a"}, "entity": {"name": "n", "owner_iam_id": "IBMid-1", "state": "ACTIVE"}});
        assert_eq!(owner_iam_id(&enveloped).unwrap(), "IBMid-1");
        assert_eq!(owner_iam_id(&json!({"owner_iam_id": "IBMid-2"})).unwrap(), "IBMid-2");
        assert!(matches!(owner_iam_id(&json!({"entity": {"owner_iam_id": ""}})), Err(Error::Decode(_))));
        assert!(matches!(owner_iam_id(&json!({"entity": {}})), Err(Error::Decode(_))));
    }

    #[tokio::test]
    async fn reads_the_token_account() {
        let mock = Mock::start(|req, _| {
            assert_eq!(req.path, "/coe/v2/accounts/acct-from-token");
            Reply::json(200, json!({"metadata": {"guid": "acct-from-token"}, "entity": {"owner_iam_id": "IBMid-270000ABCD"}}))
        })
        .await;
        assert_eq!(test_client(&mock, 0).account_owner_iam_id().await.unwrap(), "IBMid-270000ABCD");
        assert_eq!(mock.count("GET", "/coe/v2/accounts/acct-from-token"), 1);
    }
}
