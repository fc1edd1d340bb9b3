//! `data "ibmqr_access_group"`: an existing access group of the account, found by name.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::configured::ProviderState;
use crate::framework::{Attribute, AttributePath, Block, Context, Ctx, DataSource, OpError, OpResult, Schema, Tf};
use crate::plan_checks::with_access_group_name_checks;

pub struct AccessGroupData;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Model {
    name: Tf<String>,
    id: Tf<String>,
    description: Tf<String>,
    crn: Tf<String>,
}

#[async_trait]
impl DataSource<ProviderState> for AccessGroupData {
    type Model = Model;
    const TYPE_NAME: &'static str = "ibmqr_access_group";

    fn schema() -> Schema {
        Schema::new(
            0,
            Block::new("An existing access group of the account, found by name (ignoring letter case).")
                .attr(with_access_group_name_checks(
                    Attribute::string("name").required().describe("The group's name; letter case does not matter."),
                ))
                .attr(Attribute::string("id").computed().describe("The group's ID, `AccessGroupId-…`."))
                .attr(Attribute::string("description").computed().describe("The group's description, if any."))
                .attr(Attribute::string("crn").computed().describe("The group's CRN.")),
        )
    }

    async fn read(&self, ctx: &Ctx<ProviderState>, config: Model) -> OpResult<Model> {
        let client = &ctx.provider()?.client;
        let name = config.name.require("name")?;
        let doing = format!("looking up access group {name:?}");
        let Some(found) = client.find_access_group_by_name(name).await.context(&doing)? else {
            return Err(OpError::at(
                AttributePath::attr("name"),
                "Access group not found",
                format!("the account has no access group named {name:?}."),
            ));
        };
        // The list may omit the CRN; the group itself carries it.
        let group = client.get_access_group(&found.id).await.context(&doing)?.map_or(found, |(group, _etag)| group);
        Ok(Model {
            id: Tf::Known(group.id),
            // Keep the name as written in the configuration (it matched ignoring case).
            name: config.name.clone(),
            description: group.description.filter(|d| !d.is_empty()).into(),
            crn: group.crn.filter(|c| !c.is_empty()).into(),
        })
    }
}
