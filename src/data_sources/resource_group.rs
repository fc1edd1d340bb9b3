//! `data "ibmqr_resource_group"`: a resource group by `name`, or the account's default group
//! with `is_default = true`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::configured::{api_error, provider};
use crate::framework::legacy::{Ctx, DataSource};
use crate::framework::{from_value, to_value, Attribute, AttributePath, Block, Diagnostics, Schema, Value};

pub struct ResourceGroup;

#[derive(Deserialize)]
struct Config {
    name: Option<String>,
    is_default: Option<bool>,
}

#[derive(Serialize)]
struct Model {
    id: String,
    name: String,
    crn: String,
    state: String,
    is_default: bool,
}

#[async_trait]
impl DataSource for ResourceGroup {
    fn type_name(&self) -> &'static str {
        "ibmqr_resource_group"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new("A resource group, by name or as the account's default group.")
                .attr(Attribute::string("id").computed().describe("The group's ID."))
                .attr(
                    Attribute::string("name")
                        .optional()
                        .computed()
                        .describe("Name of the group to find. Set `name` or `is_default = true`."),
                )
                .attr(Attribute::bool("is_default").optional().computed().describe("Set to true to find the account's default group."))
                .attr(Attribute::string("crn").computed().describe("The group's CRN."))
                .attr(Attribute::string("state").computed().describe("State, e.g. `ACTIVE`.")),
        )
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let name = config.get("name").cloned().unwrap_or_default();
        let is_default = config.get("is_default").cloned().unwrap_or_default();
        let mut diags = Diagnostics::new();
        match (&name, &is_default) {
            (Value::Null, Value::Null) | (Value::Null, Value::Bool(false)) => diags.add_attr_error(
                AttributePath::attr("name"),
                "Which resource group?",
                "Set name, or is_default = true for the account's default group.",
            ),
            (Value::String(_), Value::Bool(true)) => diags.add_attr_error(
                AttributePath::attr("is_default"),
                "Both name and is_default",
                "Set name or is_default = true, not both.",
            ),
            _ => {}
        }
        if let Value::String(n) = &name {
            crate::plan_checks::check_resource_group_name(n, &mut diags);
        }
        diags
    }

    async fn read(&self, ctx: &Ctx, config: &Value) -> Result<Value, Diagnostics> {
        let state = provider(ctx)?;
        let config: Config = from_value(config)?;
        let (group, wanted) = match &config.name {
            Some(name) => {
                let groups = state
                    .client
                    .list_resource_groups(Some(name), false)
                    .await
                    .map_err(|e| api_error(&format!("finding resource group {name}"), &e))?;
                (groups.into_iter().find(|g| g.name == *name), format!("named {name:?}"))
            }
            None => {
                let group = state.client.default_resource_group().await.map_err(|e| api_error("finding the default resource group", &e))?;
                (group, "marked default".to_string())
            }
        };
        let Some(group) = group.filter(|g| config.is_default != Some(true) || g.default) else {
            return Err(Diagnostics::error("Resource group not found", format!("the account has no resource group {wanted}.")));
        };
        let model = Model { id: group.id, name: group.name, crn: group.crn, state: group.state, is_default: group.default };
        Ok(to_value(&model, &self.schema().value_type())?)
    }
}
