//! `data "ibmqr_account"`: the account the provider manages and the caller's IAM identity.

use async_trait::async_trait;
use serde::Serialize;

use crate::configured::{api_error, provider};
use crate::framework::legacy::{Ctx, DataSource};
use crate::framework::{to_value, Attribute, Block, Diagnostics, Schema, Value};

pub struct Account;

#[derive(Serialize)]
struct Model {
    id: String,
    account_id: String,
    iam_id: String,
}

#[async_trait]
impl DataSource for Account {
    fn type_name(&self) -> &'static str {
        "ibmqr_account"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new("The IBM Cloud account the provider manages, and who the API key belongs to.")
                .attr(Attribute::string("id").computed().describe("The account ID."))
                .attr(Attribute::string("account_id").computed().describe("The account ID (32 hex characters)."))
                .attr(Attribute::string("iam_id").computed().describe("IAM ID of the API key's owner (`IBMid-…` or `iam-ServiceId-…`).")),
        )
    }

    async fn read(&self, ctx: &Ctx, _config: &Value) -> Result<Value, Diagnostics> {
        let state = provider(ctx)?;
        let identity = state.client.identity().await.map_err(|e| api_error("reading the account", &e))?;
        let model = Model { id: identity.account_id.clone(), account_id: identity.account_id, iam_id: identity.iam_id };
        Ok(to_value(&model, &self.schema().value_type())?)
    }
}
