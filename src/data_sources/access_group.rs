//! `data "ibmqr_access_group"`: an existing access group of the account, found by name.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::configured::{api_error, provider};
use crate::framework::legacy::{Ctx, DataSource};
use crate::framework::{from_value, to_value, Attribute, AttributePath, Block, Diagnostics, Schema, Value};
use crate::plan_checks::check_access_group_name;

pub struct AccessGroupData;

#[derive(Deserialize)]
struct Config {
    name: String,
}

#[derive(Serialize)]
struct Model {
    id: String,
    name: String,
    description: Option<String>,
    crn: Option<String>,
}

#[async_trait]
impl DataSource for AccessGroupData {
    fn type_name(&self) -> &'static str {
        "ibmqr_access_group"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new("An existing access group of the account, found by name (ignoring letter case).")
                .attr(Attribute::string("name").required().describe("The group's name; letter case does not matter."))
                .attr(Attribute::string("id").computed().describe("The group's ID, `AccessGroupId-…`."))
                .attr(Attribute::string("description").computed().describe("The group's description, if any."))
                .attr(Attribute::string("crn").computed().describe("The group's CRN.")),
        )
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        check_access_group_name(config, &mut diags);
        diags
    }

    async fn read(&self, ctx: &Ctx, config: &Value) -> Result<Value, Diagnostics> {
        let state = provider(ctx)?;
        let config: Config = from_value(config)?;
        let doing = format!("looking up access group {:?}", config.name);
        let found = state.client.find_access_group_by_name(&config.name).await.map_err(|e| api_error(&doing, &e))?;
        let Some(found) = found else {
            return Err(Diagnostics::attr_error(
                AttributePath::attr("name"),
                "Access group not found",
                format!("the account has no access group named {:?}.", config.name),
            ));
        };
        // The list may omit the CRN; the group itself carries it.
        let group = match state.client.get_access_group(&found.id).await.map_err(|e| api_error(&doing, &e))? {
            Some((g, _)) => g,
            None => found,
        };
        let model = Model {
            id: group.id,
            // Keep the name as written in the configuration (it matched ignoring case).
            name: config.name,
            description: group.description.filter(|d| !d.is_empty()),
            crn: group.crn.filter(|c| !c.is_empty()),
        };
        Ok(to_value(&model, &self.schema().value_type())?)
    }
}
