//! `data "ibmqr_instance"`: a Qiskit Runtime instance by `crn`, or by `name` and `region`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Number;

use crate::configured::ProviderState;
use crate::framework::{
    Attribute, AttributePath, Block, Check, Context, Ctx, DataSource, Diagnostics, OpError, OpResult, Rule, Schema, Tf,
};
use crate::ibmcloud::resource_controller::{InstanceFilter, ResourceInstance, QUANTUM_RESOURCE_ID};
use crate::ibmcloud::Client;
use crate::plan_checks::QISKIT_REGIONS;

pub struct Instance;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Model {
    id: Tf<String>,
    crn: Tf<String>,
    guid: Tf<String>,
    name: Tf<String>,
    region: Tf<String>,
    state: Tf<String>,
    plan: Tf<String>,
    plan_id: Tf<String>,
    resource_group_id: Tf<String>,
    tags: Tf<Vec<Tf<String>>>,
    instance_limit_seconds: Tf<Number>,
    usage_allocation_seconds: Tf<Number>,
    backends: Tf<Vec<Tf<String>>>,
}

fn string_set(items: impl IntoIterator<Item = String>) -> Tf<Vec<Tf<String>>> {
    let sorted: std::collections::BTreeSet<String> = items.into_iter().collect();
    Tf::Known(sorted.into_iter().map(Tf::Known).collect())
}

/// The live instance with this CRN.
async fn by_crn(client: &Client, crn: &str) -> OpResult<ResourceInstance> {
    let found = client.get_resource_instance(crn).await.context(format_args!("reading instance {crn}"))?;
    found.filter(|i| !i.is_deleted()).ok_or_else(|| OpError::new("Instance not found", format!("no live instance has the CRN {crn:?}.")))
}

/// The one Qiskit Runtime instance named `name` in `region`.
async fn by_name(client: &Client, name: &str, region: &str) -> OpResult<ResourceInstance> {
    let filter = InstanceFilter { resource_id: Some(QUANTUM_RESOURCE_ID), name: Some(name), ..Default::default() };
    let mut found: Vec<_> = client
        .list_resource_instances(&filter)
        .await
        .context(format_args!("finding instance {name}"))?
        .into_iter()
        .filter(|i| i.name == name && i.region_id == region)
        .collect();
    if found.len() > 1 {
        let crns: Vec<&str> = found.iter().map(|i| i.crn.as_str()).collect();
        return Err(OpError::new(
            "Several instances match",
            format!("{} instances are named {name:?} in {region}: {}. Use crn instead.", found.len(), crns.join(", ")),
        ));
    }
    found.pop().ok_or_else(|| OpError::new("Instance not found", format!("no Qiskit Runtime instance is named {name:?} in {region}.")))
}

#[async_trait]
impl DataSource<ProviderState> for Instance {
    type Model = Model;
    const TYPE_NAME: &'static str = "ibmqr_instance";

    fn schema() -> Schema {
        Schema::new(
            0,
            Block::new("A Qiskit Runtime instance, by CRN or by name and region.")
                .attr(Attribute::string("id").computed().describe("The instance's CRN."))
                .attr(Attribute::string("crn").optional().computed().describe("CRN of the instance to read. Or set `name` and `region`."))
                .attr(Attribute::string("name").optional().computed().describe("Name of the instance to find, with `region`."))
                .attr(
                    Attribute::string("region")
                        .optional()
                        .computed()
                        .check(Check::one_of(&QISKIT_REGIONS))
                        .describe("Region of the instance to find by name."),
                )
                .attr(Attribute::string("guid").computed().describe("The instance's GUID."))
                .attr(Attribute::string("state").computed().describe("State, e.g. `active`."))
                .attr(Attribute::string("plan").computed().describe("Plan name: built in for the current plans, else from the Global Catalog; null when the catalog does not list the plan ID."))
                .attr(Attribute::string("plan_id").computed().describe("Catalog plan ID."))
                .attr(Attribute::string("resource_group_id").computed().describe("Resource group."))
                .attr(Attribute::string_set("tags").computed().describe("User tags (lowercase, as IBM stores them)."))
                .attr(Attribute::number("instance_limit_seconds").computed().describe("Usage limit in seconds, if any."))
                .attr(Attribute::number("usage_allocation_seconds").computed().describe("Allocated seconds, if any."))
                .attr(Attribute::string_set("backends").computed().describe("Backends the instance may use."))
                // In this order, so that the error is on `crn`.
                .rule(Rule::conflicts_with(&["name", "crn"]))
                .rule(Rule::conflicts_with(&["region", "crn"])),
        )
    }

    fn validate(&self, config: &Model) -> Diagnostics {
        // An unknown value counts as set: it will be.
        let (crn, name, region) = (!config.crn.is_null(), !config.name.is_null(), !config.region.is_null());
        let mut diags = Diagnostics::new();
        if !(crn || (name && region)) {
            diags.add_attr_error(AttributePath::attr("name"), "Which instance?", "Set crn, or name together with region.");
        }
        diags
    }

    async fn read(&self, ctx: &Ctx<ProviderState>, config: Model) -> OpResult<Model> {
        let state = ctx.provider()?;
        let client = &state.client;
        let instance = if let Some(crn) = config.crn.known() {
            by_crn(client, crn).await?
        } else {
            let (Some(name), Some(region)) = (config.name.known(), config.region.known()) else {
                return Err(OpError::new("Which instance?", "Set crn, or name together with region."));
            };
            by_name(client, name, region).await?
        };
        let tags = client.list_attached_tags(&instance.crn).await.context(format_args!("listing the tags of {}", instance.crn))?;
        let plan = state
            .plan_catalog
            .name_of(client, &instance.resource_plan_id)
            .await
            .context(format_args!("looking up the plan of {} in the Global Catalog", instance.crn))?;
        Ok(Model {
            id: Tf::Known(instance.crn.clone()),
            crn: Tf::Known(instance.crn.clone()),
            guid: Tf::Known(instance.guid.clone()),
            name: Tf::Known(instance.name.clone()),
            region: Tf::Known(instance.region_id.clone()),
            state: Tf::Known(instance.state.clone()),
            plan: plan.into(),
            plan_id: Tf::Known(instance.resource_plan_id.clone()),
            resource_group_id: Tf::Known(instance.resource_group_id.clone()),
            tags: string_set(tags),
            instance_limit_seconds: instance.extension_u64("instance_limit_seconds").map(Number::from).into(),
            usage_allocation_seconds: instance.extension_u64("usage_allocation_seconds").map(Number::from).into(),
            backends: instance.extension_strings("backends").map(string_set).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::{data_source, Value};

    #[test]
    fn an_instance_is_named_by_crn_or_by_name_and_region() {
        let instance = data_source::<ProviderState, _>(Instance);
        let paths = |json| {
            let d = instance.validate(&Value::from_json(&json, instance.value_type()).expect("value"));
            d.0.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect::<Vec<_>>()
        };
        assert!(paths(serde_json::json!({"crn": "crn:v1"})).is_empty());
        assert!(paths(serde_json::json!({"name": "qr", "region": "us-east"})).is_empty());
        assert_eq!(paths(serde_json::json!({"crn": "crn:v1", "name": "qr"})), ["crn"]);
        assert_eq!(paths(serde_json::json!({"crn": "crn:v1", "region": "us-east"})), ["crn"]);
        assert_eq!(paths(serde_json::json!({"name": "qr"})), ["name"]);
        assert_eq!(paths(serde_json::json!({"name": "qr", "region": "us-south"})), ["region"]);
    }
}
