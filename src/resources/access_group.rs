//! `ibmqr_access_group`: an IAM access group (one per project), `POST /v2/groups`.
//! Names are unique in the account ignoring case; a duplicate is reported with the existing
//! group's id and the import command.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::configured::ProviderState;
use crate::framework::{
    Attribute, AttributePath, Block, Check, Context, Ctx, ListRequest, ListResource, Listed, OpError, OpResult, Resource, Schema, Tf,
};
use crate::ibmcloud::access_groups::AccessGroup;
use crate::ibmcloud::{self, Client};
use crate::plan_checks::with_access_group_name_checks;

use super::{wait_until_visible, write_with_fresh_etag};

pub const TYPE_NAME: &str = "ibmqr_access_group";
/// How long a new or changed group may take to show up in reads.
const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(120);

pub struct AccessGroupResource;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Model {
    id: Tf<String>,
    name: Tf<String>,
    description: Tf<String>,
    crn: Tf<String>,
}

impl Model {
    fn from_group(g: &AccessGroup) -> Self {
        Model {
            id: Tf::Known(g.id.clone()),
            name: Tf::Known(g.name.clone()),
            description: g.description.clone().filter(|d| !d.is_empty()).into(),
            crn: g.crn.clone().filter(|c| !c.is_empty()).into(),
        }
    }
}

fn duplicate_error(name: &str, existing: &AccessGroup) -> OpError {
    OpError::at(
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

/// After a 409, the group of that name other than `own_id`, as a duplicate error; Ok if none is
/// found, so that the caller reports IBM's refusal itself.
async fn refuse_duplicate(client: &Client, name: &str, refusal: &ibmcloud::Error, own_id: Option<&str>) -> OpResult<()> {
    if refusal.status() != Some(409) {
        return Ok(());
    }
    match client.find_access_group_by_name(name).await {
        Ok(Some(existing)) if Some(existing.id.as_str()) != own_id => Err(duplicate_error(name, &existing)),
        _ => Ok(()),
    }
}

#[async_trait]
impl Resource<ProviderState> for AccessGroupResource {
    type Model = Model;
    const TYPE_NAME: &'static str = TYPE_NAME;

    fn schema() -> Schema {
        Schema::new(
            0,
            Block::new("An IAM access group, e.g. one per project; members, rules and policies attach to it.")
                .attr(Attribute::string("id").computed().describe("The group's ID, `AccessGroupId-…`."))
                .attr(with_access_group_name_checks(
                    Attribute::string("name").required().describe("Unique in the account, ignoring letter case."),
                ))
                .attr(
                    Attribute::string("description")
                        .optional()
                        .check(Check::length(1, 250))
                        .describe("What the group is for. Leave it out for none."),
                )
                .attr(Attribute::string("crn").computed().describe("The group's CRN.")),
        )
    }

    async fn create(&self, ctx: &Ctx<ProviderState>, planned: Model, _config: Model) -> OpResult<Model> {
        let client = &ctx.provider()?.client;
        let name = planned.name.require("name")?;
        let doing = format!("creating access group {name}");
        // IBM may or may not refuse duplicate names (UNCERTAIN): look first, so both behave alike.
        if let Some(existing) = client.find_access_group_by_name(name).await.context(&doing)? {
            return Err(duplicate_error(name, &existing));
        }
        let created = client.create_access_group(name, planned.description.as_deref()).await;
        if let Err(refusal) = &created {
            refuse_duplicate(client, name, refusal, None).await?;
        }
        let (created, _etag) = created.context(&doing)?;
        let mut group = Model { id: Tf::Known(created.id.clone()), crn: created.crn.clone().into(), ..planned.clone() };
        ctx.save(&group);
        let visible = wait_for_group(ctx, &created.id, |_| true).await?;
        if let Some(crn) = visible.crn {
            group.crn = Tf::Known(crn);
        }
        Ok(group)
    }

    async fn read(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<Option<Model>> {
        let Tf::Known(id) = &prior.id else { return Ok(None) };
        let client = &ctx.provider()?.client;
        let doing = format!("reading access group {}", prior.name.as_deref().unwrap_or(id));
        let found = client.get_access_group(id).await.context(doing)?;
        Ok(found.map(|(group, _etag)| Model::from_group(&group)))
    }

    async fn update(&self, ctx: &Ctx<ProviderState>, prior: Model, planned: Model, _config: Model) -> OpResult<Model> {
        let id = prior.id.require("id")?;
        let name = planned.name.require("name")?;
        let client = &ctx.provider()?.client;
        let doing = format!("updating access group {name}");
        let description = planned.description.as_deref().unwrap_or_default();
        let shows_change = |g: &AccessGroup| g.name == *name && g.description.as_deref().unwrap_or_default() == description;
        let write = |_current, etag: String| async move { client.update_access_group(id, &etag, name, description).await.map(|_| ()) };
        // A 409 here is a name another group has (refused below), not a stale tag.
        let stale = |e: &ibmcloud::Error| e.status() == Some(412);
        let written = write_with_fresh_etag(|| client.get_access_group(id), shows_change, write, stale).await;
        if let Err(refusal) = &written {
            refuse_duplicate(client, name, refusal, Some(id)).await?;
        }
        let Some(()) = written.context(&doing)? else {
            return Err(OpError::new(
                "Access group is gone",
                format!("{doing}: access group {id} no longer exists; run terraform apply again to create it"),
            ));
        };
        let group = Model { id: prior.id.clone(), crn: prior.crn.clone(), ..planned.clone() };
        ctx.save(&group);
        wait_for_group(ctx, id, |g| g.name == *name && g.description.as_deref().unwrap_or_default() == description).await?;
        Ok(group)
    }

    async fn delete(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<()> {
        let Tf::Known(id) = &prior.id else { return Ok(()) };
        ctx.provider()?
            .client
            .delete_access_group(id)
            .await
            .context(format_args!("deleting access group {}", prior.name.as_deref().unwrap_or(id)))
    }

    fn import_not_found(&self, id: &str) -> OpError {
        OpError::new(
            "Access group not found",
            format!("no access group has the id {id:?}. Import takes the group's id (AccessGroupId-…), not its name."),
        )
    }
}

/// Reads the group until it is visible and `ready` holds, within the consistency bound.
async fn wait_for_group(ctx: &Ctx<ProviderState>, id: &str, ready: impl Fn(&AccessGroup) -> bool) -> OpResult<AccessGroup> {
    let client = &ctx.provider()?.client;
    let get = || async move { client.get_access_group(id).await.map(|found| found.map(|(group, _etag)| group)) };
    wait_until_visible(ctx, VISIBILITY_TIMEOUT, &format!("access group {id}"), get, ready).await
}

/// The filters of `list "ibmqr_access_group"`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ListFilter {
    name_prefix: Tf<String>,
}

#[async_trait]
impl ListResource<ProviderState> for AccessGroupResource {
    type Filter = ListFilter;

    fn list_schema() -> Schema {
        Schema::new(
            0,
            Block::new("The account's access groups. IBM's Public Access group is never listed: the account depends on it.").attr(
                Attribute::string("name_prefix")
                    .optional()
                    .describe("Only groups whose name starts with this text (letter case counts), such as `qiskit-`."),
            ),
        )
    }

    async fn list(&self, ctx: &Ctx<ProviderState>, request: ListRequest<ListFilter>) -> OpResult<Vec<Listed<Model>>> {
        let client = &ctx.provider()?.client;
        let prefix = request.filter.name_prefix.into_option().filter(|p| !p.is_empty());
        let groups = client.list_access_groups(prefix.as_deref()).await.context("listing the account's access groups")?;
        let mut listed: Vec<Listed<Model>> =
            groups.iter().map(|group| Listed { display_name: group.name.clone(), state: Model::from_group(group) }).collect();
        listed.sort_by(|a, b| a.display_name.cmp(&b.display_name));
        Ok(listed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::{resource, Value};

    fn validate(json: serde_json::Value) -> Vec<String> {
        let group = resource::<ProviderState, _>(AccessGroupResource);
        let config = Value::from_json(&json, group.value_type()).expect("value");
        group.validate(&config).0.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect()
    }

    #[test]
    fn validate_names_the_attribute() {
        assert_eq!(validate(serde_json::json!({"name": "  ", "description": ""})), ["name", "description"]);
        assert!(validate(serde_json::json!({"name": "project-ml"})).is_empty());
    }

    #[test]
    fn empty_description_reads_as_none() {
        let g = AccessGroup { id: "AccessGroupId-1".into(), name: "g".into(), description: Some(String::new()), ..Default::default() };
        assert_eq!(Model::from_group(&g).description, Tf::Null);
    }
}
