//! `data "ibmqr_resource_group"`: a resource group by `name`, or the account's default group
//! with `is_default = true`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::configured::ProviderState;
use crate::framework::{Attribute, AttributePath, Block, Context, Ctx, DataSource, Diagnostics, OpError, OpResult, Schema, Tf};
use crate::plan_checks::with_resource_group_name_checks;

pub struct ResourceGroup;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Model {
    id: Tf<String>,
    name: Tf<String>,
    is_default: Tf<bool>,
    crn: Tf<String>,
    state: Tf<String>,
}

#[async_trait]
impl DataSource<ProviderState> for ResourceGroup {
    type Model = Model;
    const TYPE_NAME: &'static str = "ibmqr_resource_group";

    fn schema() -> Schema {
        Schema::new(
            0,
            Block::new("A resource group, by name or as the account's default group.")
                .attr(Attribute::string("id").computed().describe("The group's ID."))
                .attr(with_resource_group_name_checks(
                    Attribute::string("name")
                        .optional()
                        .computed()
                        .describe("Name of the group to find. Set `name` or `is_default = true`."),
                ))
                .attr(Attribute::bool("is_default").optional().computed().describe("Set to true to find the account's default group."))
                .attr(Attribute::string("crn").computed().describe("The group's CRN."))
                .attr(Attribute::string("state").computed().describe("State, e.g. `ACTIVE`.")),
        )
    }

    /// Not a declarable rule: `is_default = false` counts as unset, and may go with `name`.
    fn validate(&self, config: &Model) -> Diagnostics {
        let mut diags = Diagnostics::new();
        match (&config.name, &config.is_default) {
            (Tf::Null, Tf::Null | Tf::Known(false)) => diags.add_attr_error(
                AttributePath::attr("name"),
                "Which resource group?",
                "Set name, or is_default = true for the account's default group.",
            ),
            (Tf::Known(_), Tf::Known(true)) => diags.add_attr_error(
                AttributePath::attr("is_default"),
                "Both name and is_default",
                "Set name or is_default = true, not both.",
            ),
            _ => {}
        }
        diags
    }

    async fn read(&self, ctx: &Ctx<ProviderState>, config: Model) -> OpResult<Model> {
        let client = &ctx.provider()?.client;
        let (group, wanted) = match config.name.as_deref() {
            Some(name) => {
                let groups = client.list_resource_groups(Some(name), false).await.context(format_args!("finding resource group {name}"))?;
                (groups.into_iter().find(|g| g.name == name), format!("named {name:?}"))
            }
            None => (client.default_resource_group().await.context("finding the default resource group")?, "marked default".to_string()),
        };
        let Some(group) = group.filter(|g| config.is_default.known() != Some(&true) || g.default) else {
            return Err(OpError::new("Resource group not found", format!("the account has no resource group {wanted}.")));
        };
        Ok(Model {
            id: Tf::Known(group.id),
            name: Tf::Known(group.name),
            is_default: Tf::Known(group.default),
            crn: Tf::Known(group.crn),
            state: Tf::Known(group.state),
        })
    }
}
