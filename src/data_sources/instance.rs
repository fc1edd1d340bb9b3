//! `data "ibmqr_instance"`: a Qiskit Runtime instance by `crn`, or by `name` and `region`.

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::configured::{api_error, provider};
use crate::framework::legacy::{Ctx, DataSource};
use crate::framework::{from_value, to_value, Attribute, AttributePath, Block, Diagnostics, Schema, Value};
use crate::ibmcloud::resource_controller::{InstanceFilter, QUANTUM_RESOURCE_ID};
use crate::plan_checks::{check_qiskit_region, QISKIT_REGIONS};

pub struct Instance;

#[derive(Deserialize)]
struct Config {
    crn: Option<String>,
    name: Option<String>,
    region: Option<String>,
}

#[derive(Serialize)]
struct Model {
    id: String,
    crn: String,
    guid: String,
    name: String,
    region: String,
    state: String,
    plan: Option<String>,
    plan_id: String,
    resource_group_id: String,
    tags: BTreeSet<String>,
    instance_limit_seconds: Option<u64>,
    usage_allocation_seconds: Option<u64>,
    backends: Option<BTreeSet<String>>,
}

#[async_trait]
impl DataSource for Instance {
    fn type_name(&self) -> &'static str {
        "ibmqr_instance"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new("A Qiskit Runtime instance, by CRN or by name and region.")
                .attr(Attribute::string("id").computed().describe("The instance's CRN."))
                .attr(Attribute::string("crn").optional().computed().describe("CRN of the instance to read. Or set `name` and `region`."))
                .attr(Attribute::string("name").optional().computed().describe("Name of the instance to find, with `region`."))
                .attr(Attribute::string("region").optional().computed().describe(&format!(
                    "Region of the instance to find by name: {}.",
                    QISKIT_REGIONS.map(|r| format!("`{r}`")).join(" or ")
                )))
                .attr(Attribute::string("guid").computed().describe("The instance's GUID."))
                .attr(Attribute::string("state").computed().describe("State, e.g. `active`."))
                .attr(Attribute::string("plan").computed().describe("Plan name: built in for the current plans, else from the Global Catalog; null when the catalog does not list the plan ID."))
                .attr(Attribute::string("plan_id").computed().describe("Catalog plan ID."))
                .attr(Attribute::string("resource_group_id").computed().describe("Resource group."))
                .attr(Attribute::string_set("tags").computed().describe("User tags (lowercase, as IBM stores them)."))
                .attr(Attribute::number("instance_limit_seconds").computed().describe("Usage limit in seconds, if any."))
                .attr(Attribute::number("usage_allocation_seconds").computed().describe("Allocated seconds, if any."))
                .attr(Attribute::string_set("backends").computed().describe("Backends the instance may use.")),
        )
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let set = |a: &str| config.get(a).is_some_and(|v| !v.is_null());
        let mut diags = Diagnostics::new();
        if set("crn") && (set("name") || set("region")) {
            diags.add_attr_error(
                AttributePath::attr("crn"),
                "Both crn and name",
                "Find the instance by crn, or by name and region, not both.",
            );
        } else if !(set("crn") || (set("name") && set("region"))) {
            diags.add_attr_error(AttributePath::attr("name"), "Which instance?", "Set crn, or name together with region.");
        }
        if let Some(Value::String(region)) = config.get("region") {
            check_qiskit_region(region, None, "", &mut diags);
        }
        diags
    }

    async fn read(&self, ctx: &Ctx, config: &Value) -> Result<Value, Diagnostics> {
        let state = provider(ctx)?;
        let client = &state.client;
        let config: Config = from_value(config)?;
        let instance = match (&config.crn, &config.name, &config.region) {
            (Some(crn), _, _) => match client.get_resource_instance(crn).await {
                Ok(Some(i)) if !i.is_deleted() => i,
                Ok(_) => return Err(Diagnostics::error("Instance not found", format!("no live instance has the CRN {crn:?}."))),
                Err(e) => return Err(api_error(&format!("reading instance {crn}"), &e)),
            },
            (None, Some(name), Some(region)) => {
                let filter = InstanceFilter { resource_id: Some(QUANTUM_RESOURCE_ID), name: Some(name), ..Default::default() };
                let found: Vec<_> = client
                    .list_resource_instances(&filter)
                    .await
                    .map_err(|e| api_error(&format!("finding instance {name}"), &e))?
                    .into_iter()
                    .filter(|i| i.name == *name && i.region_id == *region)
                    .collect();
                match found.len() {
                    1 => found.into_iter().next().ok_or_else(|| Diagnostics::error("Instance not found", "no instance"))?,
                    0 => {
                        return Err(Diagnostics::error(
                            "Instance not found",
                            format!("no Qiskit Runtime instance is named {name:?} in {region}."),
                        ))
                    }
                    _ => {
                        let crns: Vec<&str> = found.iter().map(|i| i.crn.as_str()).collect();
                        return Err(Diagnostics::error(
                            "Several instances match",
                            format!("{} instances are named {name:?} in {region}: {}. Use crn instead.", found.len(), crns.join(", ")),
                        ));
                    }
                }
            }
            _ => return Err(Diagnostics::error("Which instance?", "Set crn, or name together with region.")),
        };
        let tags =
            client.list_attached_tags(&instance.crn).await.map_err(|e| api_error(&format!("listing the tags of {}", instance.crn), &e))?;
        let plan = state
            .plan_catalog
            .name_of(client, &instance.resource_plan_id)
            .await
            .map_err(|e| api_error(&format!("looking up the plan of {} in the Global Catalog", instance.crn), &e))?;
        let model = Model {
            id: instance.crn.clone(),
            crn: instance.crn.clone(),
            guid: instance.guid.clone(),
            name: instance.name.clone(),
            region: instance.region_id.clone(),
            state: instance.state.clone(),
            plan,
            plan_id: instance.resource_plan_id.clone(),
            resource_group_id: instance.resource_group_id.clone(),
            tags: tags.into_iter().collect(),
            instance_limit_seconds: instance.extension_u64("instance_limit_seconds"),
            usage_allocation_seconds: instance.extension_u64("usage_allocation_seconds"),
            backends: instance.extension_strings("backends").map(|b| b.into_iter().collect()),
        };
        Ok(to_value(&model, &self.schema().value_type())?)
    }
}
