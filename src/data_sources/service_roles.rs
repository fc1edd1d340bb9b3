//! `data "ibmqr_service_roles"`: the platform and service roles IBM defines for a service, with
//! their actions, and every action of the service. Custom roles are not included.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::configured::role_catalog::service_actions;
use crate::configured::{api_error, provider};
use crate::framework::legacy::{Ctx, DataSource};
use crate::framework::{from_value, to_value, Attribute, Block, Diagnostics, Schema, Type, Value};
use crate::ibmcloud::Role;

pub struct ServiceRoles;

#[derive(Deserialize)]
struct Config {
    service: Option<String>,
}

#[derive(Serialize)]
struct RoleModel {
    name: String,
    crn: String,
    #[serde(rename = "type")]
    kind: &'static str,
    actions: Vec<String>,
}

#[derive(Serialize)]
struct Model {
    id: String,
    service: String,
    roles: Vec<RoleModel>,
    actions: Vec<String>,
}

fn role_type() -> Type {
    Type::object([("name", Type::String), ("crn", Type::String), ("type", Type::String), ("actions", Type::list(Type::String))])
}

/// A role's short name (`Viewer`, `Reader`) is the last segment of its CRN.
fn role_name(role: &Role) -> String {
    role.crn.rsplit(':').next().filter(|n| !n.is_empty()).unwrap_or(&role.display_name).to_string()
}

fn role_model(role: &Role, kind: &'static str) -> RoleModel {
    let mut actions = role.actions.clone();
    actions.sort();
    RoleModel { name: role_name(role), crn: role.crn.clone(), kind, actions }
}

#[async_trait]
impl DataSource for ServiceRoles {
    fn type_name(&self) -> &'static str {
        "ibmqr_service_roles"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new("Roles IBM defines for a service, and all of its actions.")
                .attr(Attribute::string("id").computed().describe("The service name."))
                .attr(
                    Attribute::string("service")
                        .default(Value::string("quantum-computing"))
                        .describe("Service name. Default `quantum-computing`."),
                )
                .attr(
                    Attribute::typed("roles", Type::list(role_type()))
                        .computed()
                        .describe("Platform and service roles: `name`, `crn`, `type` (`platform` or `service`) and sorted `actions`."),
                )
                .attr(Attribute::typed("actions", Type::list(Type::String)).computed().describe("Every action of the service, sorted.")),
        )
    }

    async fn read(&self, ctx: &Ctx, config: &Value) -> Result<Value, Diagnostics> {
        let state = provider(ctx)?;
        let config: Config = from_value(config)?;
        let service = config.service.unwrap_or_else(|| "quantum-computing".to_string());
        let roles =
            state.roles.roles(&state.client, &service).await.map_err(|e| api_error(&format!("listing the roles of {service}"), &e))?;
        let mut list: Vec<RoleModel> = roles.system_roles.iter().map(|r| role_model(r, "platform")).collect();
        list.extend(roles.service_roles.iter().map(|r| role_model(r, "service")));
        let model = Model { id: service.clone(), service, roles: list, actions: service_actions(&roles).into_iter().collect() };
        Ok(to_value(&model, &self.schema().value_type())?)
    }
}
