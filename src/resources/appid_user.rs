//! `ibmqr_appid_user`: a Cloud Directory user of an App ID directory, someone without an IBM
//! Cloud account, with their projects in the directory's project attribute (what dynamic rules
//! match at login).
//!
//! No password ever reaches state, plan or logs. Without `password_wo` the user is signed up with
//! a random password that is never kept: the person sets their own through the directory's reset
//! flow. `password_wo` is write-only (Terraform 1.11+), and `password_wo_version` rotates it.
//!
//! `projects` is one space-separated, sorted string in the profile attribute, read back as a set.
//! Other profile attributes are left as they are (the profile is read, changed and written whole).

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::configured::ProviderState;
use crate::framework::{
    Attribute, AttributePath, Block, Check, Context, Ctx, Diagnostics, IdentitySchema, ListRequest, ListResource, Listed, OpError,
    OpResult, Plan, Resource, Schema, Tf, Value,
};
use crate::ibmcloud::appid::{CloudDirectoryUser, CloudDirectoryUserBody, Email, Password, PersonName, Tenant, APPID_RESOURCE_ID};
use crate::ibmcloud::resource_controller::InstanceFilter;
use crate::ibmcloud::Client;
use crate::plan_checks::WHITESPACE_CLASS;

use super::appid_directory::{is_appid_instance, project_attribute_of};

pub const TYPE_NAME: &str = "ibmqr_appid_user";
/// Where projects go when the directory maps no attribute (the directory's default).
const DEFAULT_ATTRIBUTE: &str = "project";

pub struct AppIdUser;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Model {
    id: Tf<String>,
    directory_id: Tf<String>,
    email: Tf<String>,
    user_name: Tf<String>,
    given_name: Tf<String>,
    family_name: Tf<String>,
    display_name: Tf<String>,
    /// A set; a vector here so that single unknown elements survive the plan.
    projects: Tf<Vec<Tf<String>>>,
    active: Tf<bool>,
    password_wo: Tf<String>,
    password_wo_version: Tf<i64>,
    tenant_id: Tf<String>,
    user_id: Tf<String>,
    profile_id: Tf<String>,
    status: Tf<String>,
}

/// The known projects, sorted; None for a null set.
fn project_set(projects: &Tf<Vec<Tf<String>>>) -> Option<BTreeSet<String>> {
    projects.known().map(|items| items.iter().filter_map(Tf::known).cloned().collect())
}

/// The attribute's text: sorted, one space between names.
pub fn projects_text(projects: &BTreeSet<String>) -> String {
    projects.iter().map(String::as_str).collect::<Vec<_>>().join(" ")
}

/// The set a stored attribute stands for, whatever its order and spacing.
pub fn projects_from(text: &str) -> BTreeSet<String> {
    text.split(|c: char| c.is_whitespace()).filter(|p| !p.is_empty()).map(str::to_string).collect()
}

/// Project names one of which contains another, which a `CONTAINS` rule cannot tell apart.
fn overlapping(projects: &BTreeSet<String>) -> Option<(String, String)> {
    projects.iter().find_map(|a| projects.iter().find(|b| *b != a && b.contains(a.as_str())).map(|b| (a.clone(), b.clone())))
}

fn split_id(id: &str) -> Option<(&str, &str)> {
    id.split_once('/').filter(|(t, u)| !t.is_empty() && !u.is_empty() && !u.contains('/'))
}

impl Model {
    fn tenant(&self) -> OpResult<Tenant> {
        let crn = self.directory_id.require("directory_id")?;
        Tenant::from_crn(crn).ok_or_else(|| {
            OpError::at(
                AttributePath::attr("directory_id"),
                "Not an App ID directory",
                format!("{crn:?} is not an App ID instance CRN; use ibmqr_appid_directory.NAME.id."),
            )
        })
    }

    fn body(&self, password: Option<Password>, status: Option<String>) -> OpResult<CloudDirectoryUserBody> {
        let name = (self.given_name.is_known() || self.family_name.is_known())
            .then(|| PersonName { given_name: self.given_name.known().cloned(), family_name: self.family_name.known().cloned() });
        Ok(CloudDirectoryUserBody {
            emails: vec![Email { value: self.email.require("email")?.clone(), primary: true }],
            password,
            active: self.active.known().copied().unwrap_or(true),
            user_name: self.user_name.known().cloned(),
            display_name: self.display_name.known().cloned(),
            name,
            status,
        })
    }

    /// State from the user as read, keeping the user's spelling of the e-mail.
    fn with_user(&self, tenant: &Tenant, user: &CloudDirectoryUser) -> Model {
        let email = user.primary_email().map(|e| match self.email.known() {
            Some(mine) if mine.eq_ignore_ascii_case(e) => mine.clone(),
            _ => e.to_string(),
        });
        let name = user.name.clone().unwrap_or_default();
        Model {
            id: Tf::Known(format!("{}/{}", tenant.id, user.id)),
            email: email.into(),
            user_name: user.user_name.clone().filter(|n| !n.is_empty()).into(),
            given_name: name.given_name.filter(|n| !n.is_empty()).into(),
            family_name: name.family_name.filter(|n| !n.is_empty()).into(),
            display_name: user.display_name.clone().filter(|n| !n.is_empty()).into(),
            active: Tf::Known(user.active.unwrap_or(true)),
            password_wo: Tf::Null,
            tenant_id: Tf::Known(tenant.id.clone()),
            user_id: Tf::Known(user.id.clone()),
            status: user.status.clone().into(),
            ..self.clone()
        }
    }

    /// State's projects from the attribute's text (absent: none).
    fn with_projects(mut self, text: Option<&str>) -> Model {
        let found = text.map(projects_from).unwrap_or_default();
        self.projects =
            if found.is_empty() && self.projects.is_null() { Tf::Null } else { Tf::Known(found.into_iter().map(Tf::Known).collect()) };
        self
    }
}

/// The attribute the directory maps into the ID token, where projects are kept.
async fn project_attribute(client: &Client, tenant: &Tenant, doing: &str) -> OpResult<String> {
    let tokens = client.get_token_config(tenant).await.context(format_args!("{doing}: reading the directory's token configuration"))?;
    Ok(tokens.as_ref().and_then(project_attribute_of).unwrap_or_else(|| DEFAULT_ATTRIBUTE.to_string()))
}

/// Writes the projects into the profile, keeping its other attributes; `None` removes them.
async fn write_projects(
    client: &Client,
    tenant: &Tenant,
    profile_id: &str,
    projects: Option<&BTreeSet<String>>,
    doing: &str,
) -> OpResult<()> {
    let attribute = project_attribute(client, tenant, doing).await?;
    let mut attributes: Map<String, Json> = client.get_profile_attributes(tenant, profile_id).await.context(doing)?.unwrap_or_default();
    match projects {
        Some(p) => {
            attributes.insert(attribute, Json::String(projects_text(p)));
        }
        None => {
            attributes.remove(&attribute);
        }
    }
    client.put_profile_attributes(tenant, profile_id, &attributes).await.context(format_args!("{doing}: writing the user's projects"))
}

fn sign_up_error(email: &str, err: crate::ibmcloud::Error) -> OpError {
    let text = err.to_string();
    if text.contains("userName") {
        return OpError::at(
            AttributePath::attr("user_name"),
            "User name needed",
            format!("creating App ID user {email}: the directory logs in by username, so set user_name. ({text})"),
        );
    }
    OpError::new("IBM Cloud request failed", format!("creating App ID user {email}: {text}"))
}

#[async_trait]
impl Resource<ProviderState> for AppIdUser {
    type Model = Model;
    const TYPE_NAME: &'static str = TYPE_NAME;

    fn identity() -> IdentitySchema {
        IdentitySchema::new().attr("tenant_id", "").attr("user_id", "")
    }

    fn schema() -> Schema {
        let email = format!("^[^@{WHITESPACE_CLASS}]+@[^@{WHITESPACE_CLASS}]+\\.[^@{WHITESPACE_CLASS}]+$");
        Schema::new(
            0,
            Block::new(
                "A Cloud Directory user of an App ID directory: someone without an IBM Cloud account, with the projects that put them in access groups at login. Without `password_wo` the user is signed up with a random password that is never kept or shown: they set their own through the directory's password reset (\"Forgot password?\" on the login page). No password ever reaches state, plan or logs.",
            )
            .attr(Attribute::string("id").computed().describe("`TENANT_ID/USER_ID`."))
            .attr(Attribute::string("directory_id").required().force_new().check(Check::prefix(&["crn:v1:"], "an App ID instance CRN")).describe("The directory's CRN (`ibmqr_appid_directory.NAME.id`)."))
            .attr(Attribute::string("email").required().force_new().check(Check::pattern(&email, "an e-mail address such as `ada@uni.edu`")).describe("E-mail address, the user's identity in the directory."))
            .attr(Attribute::string("user_name").optional().describe("User name, needed when the directory's `login_field` is `username`."))
            .attr(Attribute::string("given_name").optional().describe("Given name (the ID token's `given_name`)."))
            .attr(Attribute::string("family_name").optional().describe("Family name (the ID token's `family_name`)."))
            .attr(Attribute::string("display_name").optional().describe("Name shown for the user."))
            .attr(
                Attribute::string_set("projects")
                    .optional()
                    .check(Check::each(Check::pattern(&format!("^[^{WHITESPACE_CLASS}]+$"), "a project name without spaces, such as `ml`")))
                    .describe("Projects, written into the directory's project attribute as one space-separated, sorted string, which dynamic rules match with `CONTAINS`. IBM's warning: `CONTAINS` matches substrings, so never use project names that contain one another (`ml` and `mlops`). A change is an in-place update of the profile; it takes effect at the user's next login."),
            )
            .attr(Attribute::bool("active").default(Value::Bool(true)).describe("Whether the user may log in."))
            .attr(
                Attribute::string("password_wo")
                    .optional()
                    .write_only()
                    .check(Check::length(8, 256))
                    .describe("Initial password, write-only: never stored in plan or state. Needs Terraform 1.11 or later (refused from older Terraform, which would store it); pass it from an ephemeral variable. Changed only when `password_wo_version` changes."),
            )
            .attr(Attribute::number("password_wo_version").optional().describe("Change it to set `password_wo` again (rotation)."))
            .attr(Attribute::string("tenant_id").computed().describe("The directory's tenant ID."))
            .attr(Attribute::string("user_id").computed().describe("The Cloud Directory user ID."))
            .attr(Attribute::string("profile_id").computed().describe("The user's App ID profile ID (the ID token's `sub`)."))
            .attr(Attribute::string("status").computed().describe("`PENDING` until the user confirms their e-mail, then `CONFIRMED`.")),
        )
    }

    async fn modify_plan(&self, _ctx: &Ctx<ProviderState>, plan: &mut Plan<Model>) -> OpResult<()> {
        if let Some((short, long)) = project_set(&plan.config.projects).as_ref().and_then(overlapping) {
            plan.warnings.add_attr_warning(
                AttributePath::attr("projects"),
                "Project names contain one another",
                format!("{short:?} is part of {long:?}: a dynamic rule `project CONTAINS \"{short}\"` also matches {long:?}. Use names that do not contain one another."),
            );
        }
        Ok(())
    }

    fn validate(&self, config: &Model) -> Diagnostics {
        let mut d = Diagnostics::new();
        if config.password_wo_version.is_known() && config.password_wo.is_null() {
            d.add_attr_error(
                AttributePath::attr("password_wo_version"),
                "No password to set",
                "password_wo_version rotates password_wo; set password_wo too, or leave both out.",
            );
        }
        d
    }

    async fn create(&self, ctx: &Ctx<ProviderState>, planned: Model, config: Model) -> OpResult<Model> {
        let client = &ctx.provider()?.client;
        let tenant = planned.tenant()?;
        let email = planned.email.require("email")?.clone();
        let doing = format!("creating App ID user {email}");
        let password = config.password_wo.known().map(Password::new).unwrap_or_else(Password::random);
        let created = client.sign_up(&tenant, &planned.body(Some(password), None)?).await.map_err(|e| sign_up_error(&email, e))?;
        let mut user = planned.with_user(&tenant, &created);
        user.projects = Tf::Null;
        ctx.save(&user);
        let info = client.user_info(&tenant, &created.id).await.context(&doing)?;
        let profile_id = info
            .and_then(|i| i.sub)
            .ok_or_else(|| OpError::new("No profile", format!("{doing}: App ID made the user without a profile")))?;
        user.profile_id = Tf::Known(profile_id.clone());
        ctx.save(&user);
        let projects = project_set(&planned.projects);
        if projects.is_some() {
            write_projects(client, &tenant, &profile_id, projects.as_ref(), &doing).await?;
        }
        user.projects = planned.projects.clone();
        Ok(user)
    }

    async fn read(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<Option<Model>> {
        let client = &ctx.provider()?.client;
        let tenant = prior.tenant()?;
        let Some(user_id) = prior.user_id.known().cloned() else { return Ok(None) };
        let doing = format!("reading App ID user {}", prior.email.as_deref().unwrap_or(&user_id));
        let Some(user) = client.get_cloud_directory_user(&tenant, &user_id).await.context(&doing)? else { return Ok(None) };
        let mut model = prior.with_user(&tenant, &user);
        let profile_id = match prior.profile_id.known() {
            Some(id) => Some(id.clone()),
            None => client.user_info(&tenant, &user_id).await.context(&doing)?.and_then(|i| i.sub),
        };
        model.profile_id = profile_id.clone().into();
        let Some(profile_id) = profile_id else { return Ok(Some(model.with_projects(None))) };
        let attribute = project_attribute(client, &tenant, &doing).await?;
        let attributes = client.get_profile_attributes(&tenant, &profile_id).await.context(&doing)?.unwrap_or_default();
        let text = attributes.get(&attribute).and_then(Json::as_str).map(str::to_string);
        Ok(Some(model.with_projects(text.as_deref())))
    }

    async fn update(&self, ctx: &Ctx<ProviderState>, prior: Model, planned: Model, config: Model) -> OpResult<Model> {
        let client = &ctx.provider()?.client;
        let tenant = prior.tenant()?;
        let user_id = prior.user_id.require("user_id")?.clone();
        let email = planned.email.require("email")?.clone();
        let doing = format!("updating App ID user {email}");
        let fields =
            |m: &Model| (m.user_name.clone(), m.given_name.clone(), m.family_name.clone(), m.display_name.clone(), m.active.clone());
        let mut current = Model { password_wo_version: prior.password_wo_version.clone(), ..prior.clone() };
        if fields(&planned) != fields(&prior) {
            let updated = client
                .update_cloud_directory_user(&tenant, &user_id, &planned.body(None, prior.status.known().cloned())?)
                .await
                .context(&doing)?;
            current = Model { projects: prior.projects.clone(), ..planned.with_user(&tenant, &updated) };
            current.password_wo_version = prior.password_wo_version.clone();
            ctx.save(&current);
        }
        if planned.password_wo_version != prior.password_wo_version {
            if planned.password_wo_version.is_known() {
                let Some(password) = config.password_wo.known() else {
                    return Err(OpError::at(
                        AttributePath::attr("password_wo"),
                        "No password to set",
                        format!("{doing}: password_wo_version changed but password_wo is not set."),
                    ));
                };
                client
                    .change_password(&tenant, &user_id, &Password::new(password.clone()))
                    .await
                    .context(format_args!("{doing}: setting its password"))?;
            }
            current.password_wo_version = planned.password_wo_version.clone();
            ctx.save(&current);
        }
        if project_set(&planned.projects) != project_set(&prior.projects) {
            let profile_id = prior.profile_id.require("profile_id")?.clone();
            write_projects(client, &tenant, &profile_id, project_set(&planned.projects).as_ref(), &doing).await?;
        }
        current.projects = planned.projects.clone();
        Ok(current)
    }

    async fn delete(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<()> {
        let Some(user_id) = prior.user_id.known().cloned() else { return Ok(()) };
        let tenant = prior.tenant()?;
        // The user and their profile; already gone counts as deleted.
        ctx.provider()?
            .client
            .remove_cloud_directory_user(&tenant, &user_id)
            .await
            .context(format_args!("deleting App ID user {}", prior.email.as_deref().unwrap_or(&user_id)))
    }

    /// `TENANT_ID/USER_ID`; the directory (and its region) is found among the account's App ID instances.
    async fn import(&self, ctx: &Ctx<ProviderState>, id: &str, _stub: Model) -> OpResult<Option<Model>> {
        let Some((tenant_id, user_id)) = split_id(id) else { return Err(self.import_not_found(id)) };
        let client = &ctx.provider()?.client;
        let doing = format!("importing App ID user {id}");
        let filter = InstanceFilter { guid: Some(tenant_id), ..Default::default() };
        let instances = client.list_resource_instances(&filter).await.context(format_args!("{doing}: finding its directory"))?;
        let Some(directory) = instances.into_iter().find(|i| i.guid == tenant_id && is_appid_instance(i) && !i.is_deleted()) else {
            return Err(OpError::new(
                "App ID directory not found",
                format!("{doing}: the account has no App ID instance with the tenant ID {tenant_id}."),
            ));
        };
        let stub = Model { directory_id: Tf::Known(directory.crn), user_id: Tf::Known(user_id.to_string()), ..Default::default() };
        self.read(ctx, stub).await
    }

    fn import_not_found(&self, id: &str) -> OpError {
        OpError::new("App ID user not found", format!("no App ID user has the import ID {id:?}. Import takes TENANT_ID/USER_ID (the directory's tenant_id, then the Cloud Directory user ID)."))
    }
}

/// The filters of `list "ibmqr_appid_user"`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ListFilter {
    directory_id: Tf<String>,
}

#[async_trait]
impl ListResource<ProviderState> for AppIdUser {
    type Filter = ListFilter;

    fn list_schema() -> Schema {
        Schema::new(
            0,
            Block::new("The Cloud Directory users of App ID directories. Passwords are never read: the generated configuration has none, and IBM keeps the user's.").attr(
                Attribute::string("directory_id")
                    .optional()
                    .describe("Only this directory's users: an `ibmqr_appid_directory`'s `id` (the App ID instance's CRN). Every directory's when left out."),
            ),
        )
    }

    async fn list(&self, ctx: &Ctx<ProviderState>, request: ListRequest<ListFilter>) -> OpResult<Vec<Listed<Model>>> {
        let client = &ctx.provider()?.client;
        let directories: Vec<String> = match request.filter.directory_id.into_option() {
            Some(crn) => vec![crn],
            None => {
                let filter = InstanceFilter { resource_id: Some(APPID_RESOURCE_ID), ..Default::default() };
                let instances = client.list_resource_instances(&filter).await.context("listing the account's App ID directories")?;
                instances.into_iter().filter(|i| is_appid_instance(i) && !i.is_deleted()).map(|i| i.crn).collect()
            }
        };
        let mut listed = Vec::new();
        for crn in directories {
            let Some(tenant) = Tenant::from_crn(&crn) else { continue };
            let users =
                client.list_cloud_directory_users(&tenant).await.context(format_args!("listing the users of App ID directory {crn}"))?;
            for user in users {
                if listed.len() >= request.limit {
                    return Ok(listed);
                }
                let stub = Model { directory_id: Tf::Known(crn.clone()), user_id: Tf::Known(user.id.clone()), ..Default::default() };
                if let Some(state) = self.read(ctx, stub).await? {
                    listed.push(Listed { display_name: user.primary_email().unwrap_or(&user.id).to_string(), state });
                }
            }
        }
        Ok(listed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::resource;

    #[test]
    fn projects_are_one_sorted_string_read_back_as_a_set() {
        let set: BTreeSet<String> = ["ml", "chem", "bio"].iter().map(|s| s.to_string()).collect();
        assert_eq!(projects_text(&set), "bio chem ml");
        assert_eq!(projects_from("  ml\tbio   chem "), set, "order and spacing are never a diff");
        assert_eq!(overlapping(&["ml".into(), "mlops".into()].into()), Some(("ml".into(), "mlops".into())));
        assert_eq!(overlapping(&set), None);
    }

    #[test]
    fn import_ids_and_validation() {
        assert_eq!(split_id("t/u"), Some(("t", "u")));
        assert_eq!(split_id("t"), None);
        assert_eq!(split_id("t/u/x"), None);
        let user = resource::<ProviderState, _>(AppIdUser);
        let config = |json| Value::from_json(&json, user.value_type()).expect("value");
        let d = user.validate(&config(
            serde_json::json!({"directory_id": "crn:v1:x", "email": "a@b.org", "projects": ["m l"], "password_wo_version": 1}),
        ));
        let paths: Vec<String> = d.0.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect();
        assert_eq!(paths, ["projects", "password_wo_version"], "a set element is reported on the set");
    }

    #[test]
    fn the_password_is_write_only_and_sensitive() {
        let schema = AppIdUser::schema();
        let attribute = schema.block.attribute("password_wo").expect("password_wo");
        assert!(attribute.write_only && attribute.sensitive && !attribute.computed);
    }
}
