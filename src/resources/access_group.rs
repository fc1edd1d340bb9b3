//! `ibmqr_access_group`: an IAM access group (one per project), `POST /v2/groups`.
//! Names are unique in the account ignoring case; a duplicate is reported with the existing
//! group's id and the import command.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::framework::legacy::{state_from, Ctx, Resource, StateResult};
use crate::framework::{from_value, to_value, Attribute, AttributePath, Block, Diagnostics, Schema, Value};
use crate::ibmcloud::access_groups::AccessGroup;

use super::{found_for_import, legacy_wait_until_visible, provider_and, provider_and_both};
use crate::configured::{api_error, provider};
use crate::plan_checks::check_access_group_name;

pub const TYPE_NAME: &str = "ibmqr_access_group";
/// How long a new or changed group may take to show up in reads.
const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(120);

pub struct AccessGroupResource;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Model {
    id: Option<String>,
    name: String,
    description: Option<String>,
    crn: Option<String>,
}

impl Model {
    fn from_group(g: &AccessGroup) -> Self {
        Model {
            id: Some(g.id.clone()),
            name: g.name.clone(),
            description: g.description.clone().filter(|d| !d.is_empty()),
            crn: g.crn.clone().filter(|c| !c.is_empty()),
        }
    }
}

fn encode(model: &Model) -> Result<Value, Diagnostics> {
    Ok(to_value(model, &AccessGroupResource.schema().value_type())?)
}

fn duplicate_error(name: &str, existing: &AccessGroup) -> Diagnostics {
    Diagnostics::attr_error(
        AttributePath::attr("name"),
        "Access group already exists",
        format!(
            "creating access group {name:?}: the account already has an access group named {existing:?} (id {id}); names are unique ignoring letter case. \
             To manage it with Terraform, import it:\n  terraform import {TYPE_NAME}.<name> {id}\nor choose another name.",
            existing = existing.name,
            id = existing.id,
        ),
    )
}

#[async_trait]
impl Resource for AccessGroupResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new("An IAM access group, e.g. one per project; members, rules and policies attach to it.")
                .attr(Attribute::string("id").computed().describe("The group's ID, `AccessGroupId-…`."))
                .attr(Attribute::string("name").required().describe("1–100 characters, unique in the account ignoring letter case."))
                .attr(Attribute::string("description").optional().describe("Up to 250 characters."))
                .attr(Attribute::string("crn").computed().describe("The group's CRN.")),
        )
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        check_access_group_name(config, &mut diags);
        if let Some(Value::String(d)) = config.get("description") {
            let n = d.chars().count();
            if !(1..=250).contains(&n) {
                diags.add_attr_error(
                    AttributePath::attr("description"),
                    "Invalid description",
                    format!("description must be 1 to 250 characters; it has {n}. Leave it out for none."),
                );
            }
        }
        diags
    }

    async fn create(&self, ctx: &Ctx, planned: &Value, _config: &Value) -> StateResult {
        let (state, model) = match provider_and::<Model>(ctx, planned) {
            Ok(opened) => opened,
            Err(d) => return (None, d),
        };
        let client = &state.client;
        let doing = format!("creating access group {}", model.name);
        // IBM may or may not refuse duplicate names (UNCERTAIN): look first, so both behave alike.
        match client.find_access_group_by_name(&model.name).await {
            Ok(Some(existing)) => return (None, duplicate_error(&model.name, &existing)),
            Ok(None) => {}
            Err(e) => return (None, api_error(&doing, &e)),
        }
        let created = match client.create_access_group(&model.name, model.description.as_deref()).await {
            Ok((g, _)) => g,
            Err(e) if e.status() == Some(409) => {
                return match client.find_access_group_by_name(&model.name).await {
                    Ok(Some(existing)) => (None, duplicate_error(&model.name, &existing)),
                    _ => (None, api_error(&doing, &e)),
                }
            }
            Err(e) => return (None, api_error(&doing, &e)),
        };
        let mut result = Model { id: Some(created.id.clone()), crn: created.crn.clone(), ..model };
        // From here on the group exists: every answer keeps it in state.
        match wait_for_group(ctx, &created.id, |_| true).await {
            Ok(g) => result.crn = g.crn.or(result.crn),
            Err(d) => return (encode(&result).ok(), d),
        }
        state_from(encode(&result))
    }

    async fn read(&self, ctx: &Ctx, state_value: &Value) -> Result<Option<Value>, Diagnostics> {
        let state = provider(ctx)?;
        let prior: Model = from_value(state_value)?;
        let Some(id) = prior.id.clone() else { return Ok(None) };
        match state.client.get_access_group(&id).await {
            Ok(Some((g, _))) => Ok(Some(encode(&Model::from_group(&g))?)),
            Ok(None) => Ok(None),
            Err(e) => Err(api_error(&format!("reading access group {}", prior.name), &e)),
        }
    }

    async fn update(&self, ctx: &Ctx, prior_value: &Value, planned: &Value, _config: &Value) -> StateResult {
        let (state, prior, model) = match provider_and_both::<Model>(ctx, prior_value, planned) {
            Ok(opened) => opened,
            Err(d) => return (None, d),
        };
        let Some(id) = prior.id.clone() else {
            return (None, Diagnostics::error("Access group has no id", "the state of this access group has no id; import it again"));
        };
        let client = &state.client;
        let doing = format!("updating access group {}", model.name);
        let description = model.description.clone().unwrap_or_default();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let etag = match client.get_access_group(&id).await {
                Ok(Some((_, etag))) => etag.unwrap_or_else(|| "*".into()),
                Ok(None) => {
                    return (
                        None,
                        Diagnostics::error(
                            "Access group is gone",
                            format!("{doing}: access group {id} no longer exists; run terraform apply again to create it"),
                        ),
                    )
                }
                Err(e) => return (None, api_error(&doing, &e)),
            };
            match client.update_access_group(&id, &etag, &model.name, &description).await {
                Ok(_) => break,
                // A stale ETag (UNCERTAIN: 412 or 409) means someone changed it meanwhile: re-read once.
                Err(e) if matches!(e.status(), Some(412)) && attempts < 2 => continue,
                Err(e) if e.status() == Some(409) => {
                    return match client.find_access_group_by_name(&model.name).await {
                        Ok(Some(existing)) if existing.id != id => (None, duplicate_error(&model.name, &existing)),
                        _ => (None, api_error(&doing, &e)),
                    }
                }
                Err(e) => return (None, api_error(&doing, &e)),
            }
        }
        let result = Model { id: Some(id.clone()), crn: prior.crn.clone(), ..model.clone() };
        let (name, want) = (model.name.clone(), description);
        if let Err(d) = wait_for_group(ctx, &id, |g| g.name == name && g.description.clone().unwrap_or_default() == want).await {
            return (encode(&result).ok(), d);
        }
        state_from(encode(&result))
    }

    async fn delete(&self, ctx: &Ctx, prior_value: &Value) -> Diagnostics {
        let (state, prior) = match provider_and::<Model>(ctx, prior_value) {
            Ok(opened) => opened,
            Err(d) => return d,
        };
        let Some(id) = prior.id else { return Diagnostics::new() };
        match state.client.delete_access_group(&id).await {
            Ok(()) => Diagnostics::new(),
            Err(e) => api_error(&format!("deleting access group {}", prior.name), &e),
        }
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
        let state = provider(ctx)?;
        let (g, _etag) = found_for_import(state.client.get_access_group(id).await, &format!("importing access group {id}"), || {
            Diagnostics::error(
                "Access group not found",
                format!("no access group has the id {id:?}. Import takes the group's id (AccessGroupId-…), not its name."),
            )
        })?;
        encode(&Model::from_group(&g))
    }
}

/// Reads the group until it is visible and `ready` holds, within the consistency bound.
async fn wait_for_group(ctx: &Ctx, id: &str, ready: impl Fn(&AccessGroup) -> bool) -> Result<AccessGroup, Diagnostics> {
    let client = &provider(ctx)?.client;
    let get = || async move { client.get_access_group(id).await.map(|found| found.map(|(group, _etag)| group)) };
    legacy_wait_until_visible(ctx, VISIBILITY_TIMEOUT, &format!("access group {id}"), get, ready).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: serde_json::Value) -> Value {
        Value::from_json(&json, &AccessGroupResource.schema().value_type()).expect("value")
    }

    #[test]
    fn validate_names_the_attribute() {
        let d = AccessGroupResource.validate(&config(serde_json::json!({"name": "", "description": ""})));
        let paths: Vec<String> = d.0.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect();
        assert_eq!(paths, vec!["name".to_string(), "description".to_string()]);
        assert!(!AccessGroupResource.validate(&config(serde_json::json!({"name": "project-ml"}))).has_errors());
    }

    #[test]
    fn empty_description_reads_as_none() {
        let g = AccessGroup { id: "AccessGroupId-1".into(), name: "g".into(), description: Some(String::new()), ..Default::default() };
        assert_eq!(Model::from_group(&g).description, None);
    }
}
