//! `data "ibmqr_user"`: an account user found by e-mail, optionally within a realm (User
//! Management). A federated user exists in the account only after their first login, so that
//! they can then be given static memberships by `iam_id`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::configured::ProviderState;
use crate::framework::{Attribute, AttributePath, Block, Check, Context, Ctx, DataSource, OpError, OpResult, Schema, Tf};
use crate::ibmcloud::user_management::same_email;

pub struct User;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Model {
    id: Tf<String>,
    email: Tf<String>,
    realm: Tf<String>,
    iam_id: Tf<String>,
    state: Tf<String>,
}

#[async_trait]
impl DataSource<ProviderState> for User {
    type Model = Model;
    const TYPE_NAME: &'static str = "ibmqr_user";

    fn schema() -> Schema {
        Schema::new(
            0,
            Block::new("A user of the account, by e-mail. A federated user (App ID or SAML) is a user of the account only after logging in once through the identity provider's login URL.")
                .attr(Attribute::string("id").computed().describe("The user's IAM ID."))
                .attr(Attribute::string("email").required().check(Check::pattern("^[^@]+@[^@]+$", "an e-mail address")).describe("The user's e-mail (letter case ignored)."))
                .attr(Attribute::string("realm").optional().computed().describe("Only a user of this realm: `IBMid`, or an identity provider's `realm` (`ibmqr_identity_provider.NAME.realm`)."))
                .attr(Attribute::string("iam_id").computed().describe("The user's IAM ID, for static access group memberships."))
                .attr(Attribute::string("state").computed().describe("`ACTIVE`, `PENDING` (invited), `PROCESSING`, …")),
        )
    }

    async fn read(&self, ctx: &Ctx<ProviderState>, config: Model) -> OpResult<Model> {
        let email = config.email.require("email")?.clone();
        let realm = config.realm.known().cloned();
        let users = ctx.provider()?.client.list_users().await.context(format_args!("looking up user {email}"))?;
        let found = users.into_iter().find(|u| same_email(&u.email, &email) && realm.as_ref().is_none_or(|r| u.realm.as_ref() == Some(r)));
        let Some(user) = found else {
            let within = realm.map(|r| format!(" in realm {r:?}")).unwrap_or_default();
            return Err(OpError::at(
                AttributePath::attr("email"),
                "User not found",
                format!("the account has no user {email}{within}. A federated user becomes a user of the account at their first login: they must log in once through the identity provider's login_url first."),
            ));
        };
        Ok(Model {
            id: Tf::Known(user.iam_id.clone()),
            email: config.email.clone(),
            realm: user.realm.clone().into(),
            iam_id: Tf::Known(user.iam_id),
            state: Tf::Known(user.state),
        })
    }
}
