//! `data "ibmqr_account"`: the account the provider manages and the caller's IAM identity.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::configured::ProviderState;
use crate::framework::{Attribute, Block, Context, Ctx, DataSource, OpResult, Schema, Tf};

pub struct Account;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Model {
    id: Tf<String>,
    account_id: Tf<String>,
    iam_id: Tf<String>,
}

#[async_trait]
impl DataSource<ProviderState> for Account {
    type Model = Model;
    const TYPE_NAME: &'static str = "ibmqr_account";

    fn schema() -> Schema {
        Schema::new(
            0,
            Block::new("The IBM Cloud account the provider manages, and who the API key belongs to.")
                .attr(Attribute::string("id").computed().describe("The account ID."))
                .attr(Attribute::string("account_id").computed().describe("The account ID (32 hex characters)."))
                .attr(Attribute::string("iam_id").computed().describe("IAM ID of the API key's owner (`IBMid-…` or `iam-ServiceId-…`).")),
        )
    }

    async fn read(&self, ctx: &Ctx<ProviderState>, _config: Model) -> OpResult<Model> {
        let identity = ctx.provider()?.client.identity().await.context("reading the account")?;
        Ok(Model {
            id: Tf::Known(identity.account_id.clone()),
            account_id: Tf::Known(identity.account_id),
            iam_id: Tf::Known(identity.iam_id),
        })
    }
}
