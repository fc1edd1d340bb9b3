//! `data "ibmqr_service_roles"`: the platform and service roles IBM defines for a service, with
//! their actions, and every action of the service. Custom roles are not included.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::configured::role_catalog::service_actions;
use crate::configured::ProviderState;
use crate::framework::{Attribute, Block, Context, Ctx, DataSource, OpResult, Schema, Tf, Type, Value};
use crate::ibmcloud::Role;

const DEFAULT_SERVICE: &str = "quantum-computing";

pub struct ServiceRoles;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Model {
    id: Tf<String>,
    service: Tf<String>,
    roles: Tf<Vec<RoleModel>>,
    actions: Tf<Vec<String>>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct RoleModel {
    name: String,
    crn: String,
    #[serde(rename = "type")]
    kind: String,
    actions: Vec<String>,
}

fn role_type() -> Type {
    Type::object([("name", Type::String), ("crn", Type::String), ("type", Type::String), ("actions", Type::list(Type::String))])
}

/// A role's short name (`Viewer`, `Reader`) is the last segment of its CRN.
fn role_name(role: &Role) -> String {
    role.crn.rsplit(':').next().filter(|n| !n.is_empty()).unwrap_or(&role.display_name).to_string()
}

fn role_model(role: &Role, kind: &str) -> RoleModel {
    let mut actions = role.actions.clone();
    actions.sort();
    RoleModel { name: role_name(role), crn: role.crn.clone(), kind: kind.to_string(), actions }
}

#[async_trait]
impl DataSource<ProviderState> for ServiceRoles {
    type Model = Model;
    const TYPE_NAME: &'static str = "ibmqr_service_roles";

    fn schema() -> Schema {
        Schema::new(
            0,
            Block::new("Roles IBM defines for a service, and all of its actions.")
                .attr(Attribute::string("id").computed().describe("The service name."))
                .attr(Attribute::string("service").default(Value::string(DEFAULT_SERVICE)).describe("Service name."))
                .attr(
                    Attribute::typed("roles", Type::list(role_type()))
                        .computed()
                        .describe("Platform and service roles: `name`, `crn`, `type` (`platform` or `service`) and sorted `actions`."),
                )
                .attr(Attribute::typed("actions", Type::list(Type::String)).computed().describe("Every action of the service, sorted.")),
        )
    }

    async fn read(&self, ctx: &Ctx<ProviderState>, config: Model) -> OpResult<Model> {
        let state = ctx.provider()?;
        let service = config.service.into_option().unwrap_or_else(|| DEFAULT_SERVICE.to_string());
        let roles = state.roles.roles(&state.client, &service).await.context(format_args!("listing the roles of {service}"))?;
        let mut list: Vec<RoleModel> = roles.system_roles.iter().map(|r| role_model(r, "platform")).collect();
        list.extend(roles.service_roles.iter().map(|r| role_model(r, "service")));
        Ok(Model {
            id: Tf::Known(service.clone()),
            service: Tf::Known(service),
            roles: Tf::Known(list),
            actions: Tf::Known(service_actions(&roles).into_iter().collect()),
        })
    }
}
