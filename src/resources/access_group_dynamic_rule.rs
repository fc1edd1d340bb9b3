//! `ibmqr_access_group_dynamic_rule`: users federated by an identity provider join the group at
//! login while their claims meet the conditions. ID `GROUP_ID/RULE_ID`.
//!
//! Condition values: IBM documents `value` as a stringified JSON value, but examples also use bare
//! strings, and whether IBM returns what it was sent is UNCERTAIN. The provider sends a JSON string
//! literal (`"\"ml\""`), or for `IN` a JSON array of the comma-separated items (`["a","b"]`), and
//! compares what IBM returns by meaning, so a quoted and a bare `ml` are the same value.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::configured::ProviderState;
use crate::framework::{
    Attribute, AttributePath, Block, Check, Context, Ctx, Diagnostics, IdentitySchema, ListRequest, ListResource, Listed, NestedBlock,
    OpError, OpResult, Resource, Schema, Tf,
};
use crate::ibmcloud::access_groups::{Rule, RuleBody, RuleCondition};
use crate::ibmcloud::{poll_until, Client, Poll};

use super::{is_stale_etag, write_with_fresh_etag};

pub const TYPE_NAME: &str = "ibmqr_access_group_dynamic_rule";
pub const OPERATORS: [&str; 6] = ["EQUALS", "EQUALS_IGNORE_CASE", "IN", "NOT_EQUALS", "NOT_EQUALS_IGNORE_CASE", "CONTAINS"];
const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(120);
/// Text with something other than blanks in it.
const NOT_BLANK: &str = r"[^[:space:]]";

pub struct AccessGroupDynamicRule;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Condition {
    claim: Tf<String>,
    operator: Tf<String>,
    value: Tf<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Model {
    id: Tf<String>,
    access_group_id: Tf<String>,
    name: Tf<String>,
    realm: Tf<String>,
    expiration_hours: Tf<i64>,
    #[serde(default)]
    condition: Vec<Condition>,
}

/// The items of an `IN` value: comma-separated, blanks around items ignored.
fn in_items(value: &str) -> Vec<String> {
    value.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

/// What the API is sent for a condition value.
fn encode_value(operator: &str, value: &str) -> String {
    let json = if operator == "IN" { serde_json::json!(in_items(value)) } else { serde_json::json!(value) };
    json.to_string()
}

/// The plain value meant by what IBM returns: a JSON string literal is unquoted, a JSON array of
/// strings becomes comma-separated, anything else is taken as written.
fn decode_value(returned: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(returned) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Array(items)) if items.iter().all(|i| i.is_string()) => {
            items.iter().filter_map(|i| i.as_str()).collect::<Vec<_>>().join(",")
        }
        _ => returned.to_string(),
    }
}

/// True when the configured value and the returned one mean the same.
fn same_value(operator: &str, configured: &str, returned: &str) -> bool {
    let returned = decode_value(returned);
    if operator == "IN" {
        in_items(configured) == in_items(&returned)
    } else {
        configured == returned
    }
}

impl Condition {
    /// Whether IBM's condition means what this one says.
    fn means_same_as(&self, returned: &RuleCondition) -> bool {
        self.claim.as_deref() == Some(returned.claim.as_str())
            && self.operator.as_deref() == Some(returned.operator.as_str())
            && self.value.as_deref().is_some_and(|value| same_value(&returned.operator, value, &returned.value))
    }
}

impl Model {
    /// The request body; at apply time every value is known.
    fn body(&self) -> OpResult<RuleBody> {
        let conditions = self
            .condition
            .iter()
            .map(|c| {
                let operator = c.operator.require("operator")?;
                let value = c.value.require("value")?;
                Ok(RuleCondition {
                    claim: c.claim.require("claim")?.clone(),
                    operator: operator.clone(),
                    value: encode_value(operator, value),
                })
            })
            .collect::<OpResult<Vec<_>>>()?;
        Ok(RuleBody {
            name: self.name.require("name")?.clone(),
            expiration: *self.expiration_hours.require("expiration_hours")?,
            realm_name: self.realm.require("realm")?.clone(),
            conditions,
        })
    }

    /// State from IBM's rule; where a condition means what `prior` says, the prior's form is kept.
    fn from_rule(rule: &Rule, group_id: &str, prior: Option<&Model>) -> Model {
        let condition = rule
            .conditions
            .iter()
            .enumerate()
            .map(|(i, c)| match prior.and_then(|p| p.condition.get(i)) {
                Some(p) if p.means_same_as(c) => p.clone(),
                _ => Condition {
                    claim: Tf::Known(c.claim.clone()),
                    operator: Tf::Known(c.operator.clone()),
                    value: Tf::Known(decode_value(&c.value)),
                },
            })
            .collect();
        Model {
            id: Tf::Known(format!("{group_id}/{}", rule.id)),
            access_group_id: Tf::Known(group_id.to_string()),
            name: Tf::Known(rule.name.clone()),
            realm: Tf::Known(rule.realm_name.clone()),
            expiration_hours: Tf::Known(rule.expiration),
            condition,
        }
    }

    /// Whether IBM's rule shows everything this model says (used to wait for a change to show).
    fn shown_by(&self, group_id: &str, rule: &Rule) -> bool {
        Model::from_rule(rule, group_id, Some(self)) == Model { id: Tf::Known(format!("{group_id}/{}", rule.id)), ..self.clone() }
    }

    fn ids(&self) -> Option<(String, String)> {
        self.id.as_deref().and_then(split_id).map(|(g, r)| (g.to_string(), r.to_string()))
    }

    /// How messages name the rule: by name, or by ID where the name is not known (an import).
    fn label(&self) -> &str {
        self.name.as_deref().or(self.id.as_deref()).unwrap_or_default()
    }
}

fn split_id(id: &str) -> Option<(&str, &str)> {
    id.split_once('/').filter(|(g, r)| !g.is_empty() && !r.is_empty() && !r.contains('/'))
}

#[async_trait]
impl Resource<ProviderState> for AccessGroupDynamicRule {
    type Model = Model;
    const TYPE_NAME: &'static str = TYPE_NAME;

    fn identity() -> IdentitySchema {
        IdentitySchema::new().attr("access_group_id", "The access group.").id_part("rule_id", 1, "The rule's ID (`ClaimRule-…`).")
    }

    fn schema() -> Schema {
        let condition = Block::new("A condition on one claim of the user's login assertion; all conditions must hold.")
            .attr(
                Attribute::string("claim")
                    .required()
                    .check(Check::pattern(NOT_BLANK, "the name of an attribute of the login assertion, such as `project`"))
                    .describe("The claim (assertion attribute) to test, e.g. `project`."),
            )
            .attr(
                Attribute::string("operator")
                    .required()
                    .check(Check::one_of(&OPERATORS))
                    .describe("How the claim is compared with `value`."),
            )
            .attr(
                Attribute::string("value")
                    .required()
                    .describe("A plain string (no JSON quoting). For `IN`, the accepted values separated by commas."),
            );
        Schema::new(
            0,
            Block::new("A dynamic rule of an access group: federated users whose login claims meet the conditions join the group for a number of hours.")
                .attr(Attribute::string("id").computed().describe("`GROUP_ID/RULE_ID`."))
                .attr(Attribute::string("access_group_id").required().force_new().describe("The access group."))
                .attr(Attribute::string("name").required().check(Check::pattern(NOT_BLANK, "text that is not blank")).describe("The rule's name."))
                .attr(Attribute::string("realm").required().check(Check::pattern(NOT_BLANK, "text that is not blank")).describe(
                    "The identity provider: `appid://REALM_ID` for App ID, or the SAML entity ID for the IBM Cloud SAML service provider.",
                ))
                .attr(
                    Attribute::number("expiration_hours")
                        .required()
                        .check(Check::whole_number(1, 24))
                        .describe("How many hours a membership lasts before the next login re-evaluates it."),
                )
                .block(NestedBlock::list("condition", condition).min_items(1)),
        )
    }

    /// An `IN` condition needs at least one item: a check across `operator` and `value`.
    fn validate(&self, config: &Model) -> Diagnostics {
        let mut diags = Diagnostics::new();
        for (i, c) in config.condition.iter().enumerate() {
            if let (Some("IN"), Some(value)) = (c.operator.as_deref(), c.value.as_deref()) {
                if in_items(value).is_empty() {
                    diags.add_attr_error(
                        AttributePath::attr("condition").then_index(i as i64).then_attr("value"),
                        "Empty value",
                        "For IN, list the accepted values separated by commas, e.g. \"ml,finance\".",
                    );
                }
            }
        }
        diags
    }

    async fn create(&self, ctx: &Ctx<ProviderState>, planned: Model, _config: Model) -> OpResult<Model> {
        let client = &ctx.provider()?.client;
        let group = planned.access_group_id.require("access_group_id")?;
        let doing = format!("creating dynamic rule {} in access group {group}", planned.label());
        let (created, _etag) = client.create_rule(group, &planned.body()?).await.context(doing)?;
        let rule = Model { id: Tf::Known(format!("{group}/{}", created.id)), ..planned.clone() };
        ctx.save(&rule);
        wait_until_shown(ctx, &rule).await?;
        Ok(rule)
    }

    async fn read(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<Option<Model>> {
        let Some((group, rule_id)) = prior.ids() else { return Ok(None) };
        let client = &ctx.provider()?.client;
        // None: gone behind Terraform's back; the next plan recreates it.
        let Some((rule, _etag)) =
            client.get_rule(&group, &rule_id).await.context(format_args!("reading dynamic rule {}", prior.label()))?
        else {
            return Ok(None);
        };
        Ok(Some(Model::from_rule(&rule, &group, Some(&prior))))
    }

    async fn update(&self, ctx: &Ctx<ProviderState>, prior: Model, planned: Model, _config: Model) -> OpResult<Model> {
        let Some((group, rule_id)) = prior.ids() else {
            return Err(OpError::new("Dynamic rule has no id", "the state of this rule has no id; import it again"));
        };
        let doing = format!("updating dynamic rule {}", planned.label());
        replace_with_fresh_etag(&ctx.provider()?.client, &group, &rule_id, &planned, &doing).await?;
        let rule = Model { id: prior.id.clone(), ..planned };
        ctx.save(&rule);
        wait_until_shown(ctx, &rule).await?;
        Ok(rule)
    }

    async fn delete(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<()> {
        let Some((group, rule_id)) = prior.ids() else { return Ok(()) };
        ctx.provider()?.client.delete_rule(&group, &rule_id).await.context(format_args!("deleting dynamic rule {}", prior.label()))
    }

    fn import_not_found(&self, id: &str) -> OpError {
        let Some((group, rule_id)) = split_id(id) else {
            return OpError::new("Invalid import ID", format!("{id:?} is not GROUP_ID/RULE_ID, e.g. AccessGroupId-…/ClaimRule-…."));
        };
        OpError::new("Dynamic rule not found", format!("access group {group} has no rule {rule_id} (or the group does not exist)."))
    }
}

/// Replaces the rule with If-Match from a fresh read (see [`write_with_fresh_etag`]).
async fn replace_with_fresh_etag(client: &Client, group: &str, rule_id: &str, planned: &Model, doing: &str) -> OpResult<()> {
    let body = planned.body()?;
    let body = &body;
    let write = |_current, etag: String| async move { client.replace_rule(group, rule_id, &etag, body).await.map(|_| ()) };
    let shows_change = |rule: &Rule| planned.shown_by(group, rule);
    let written = write_with_fresh_etag(|| client.get_rule(group, rule_id), shows_change, write, is_stale_etag).await.context(doing)?;
    written.ok_or_else(|| {
        OpError::new("Dynamic rule is gone", format!("{doing}: rule {rule_id} no longer exists; run terraform apply again to create it"))
    })
}

/// Reads the rule back until IBM shows every attribute of `model`, within the consistency bound.
async fn wait_until_shown(ctx: &Ctx<ProviderState>, model: &Model) -> OpResult<()> {
    let client = &ctx.provider()?.client;
    let Some((group, rule_id)) = model.ids() else { return Ok(()) };
    let (group, rule_id) = (&group, &rule_id);
    poll_until(&ctx.cancel, VISIBILITY_TIMEOUT, &format!("dynamic rule {rule_id} to show the change"), || async move {
        match client.get_rule(group, rule_id).await? {
            Some((rule, _)) if model.shown_by(group, &rule) => Ok(Poll::Ready(())),
            Some(_) => Ok(Poll::Pending("not yet showing the change".into())),
            None => Ok(Poll::Pending("not yet visible".into())),
        }
    })
    .await
    .context(format_args!("waiting for dynamic rule {}", model.label()))
}

/// The filters of `list "ibmqr_access_group_dynamic_rule"`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ListFilter {
    access_group_id: Tf<String>,
}

#[async_trait]
impl ListResource<ProviderState> for AccessGroupDynamicRule {
    type Filter = ListFilter;

    fn list_schema() -> Schema {
        super::group_contents_list_schema("The dynamic rules of access groups.")
    }

    async fn list(&self, ctx: &Ctx<ProviderState>, request: ListRequest<ListFilter>) -> OpResult<Vec<Listed<Model>>> {
        let client = &ctx.provider()?.client;
        let mut listed = Vec::new();
        for group in super::groups_to_list(ctx, request.filter.access_group_id.into_option()).await? {
            let rules =
                client.list_rules(&group.id).await.context(format_args!("listing the dynamic rules of access group {}", group.name))?;
            listed.extend(rules.iter().map(|rule| Listed {
                display_name: format!("{}: {}", group.name, rule.name),
                state: Model::from_rule(rule, &group.id, None),
            }));
            if listed.len() >= request.limit {
                break;
            }
        }
        Ok(listed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::{from_value, resource, to_value, Value};

    #[test]
    fn values_are_encoded_and_compared_by_meaning() {
        assert_eq!(encode_value("CONTAINS", "ml"), "\"ml\"");
        assert_eq!(encode_value("IN", "ml, finance"), "[\"ml\",\"finance\"]");
        assert!(same_value("CONTAINS", "ml", "ml"));
        assert!(same_value("CONTAINS", "ml", "\"ml\""));
        assert!(!same_value("CONTAINS", "ml", "\"ML\""));
        assert!(same_value("IN", "ml, finance", "[\"ml\",\"finance\"]"));
        assert!(same_value("IN", "ml,finance", "\"ml,finance\""));
        assert!(!same_value("IN", "ml", "[\"ml\",\"finance\"]"));
    }

    fn validate(json: serde_json::Value) -> Vec<String> {
        let rule = resource::<ProviderState, _>(AccessGroupDynamicRule);
        let config = Value::from_json(&json, rule.value_type()).expect("value");
        rule.validate(&config).0.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect()
    }

    #[test]
    fn validate_names_the_attribute() {
        let paths = validate(serde_json::json!({"access_group_id": "g", "name": "n", "realm": "appid://r", "expiration_hours": 0,
            "condition": [{"claim": "project", "operator": "LIKE", "value": "ml"}]}));
        assert_eq!(paths, ["expiration_hours", "condition[0].operator"]);
        let paths = validate(serde_json::json!({"access_group_id": "g", "name": " ", "realm": "appid://r", "expiration_hours": 12,
            "condition": [{"claim": "project", "operator": "EQUALS", "value": "ml"}, {"claim": "", "operator": "IN", "value": " , "}]}));
        assert_eq!(paths, ["name", "condition[1].claim", "condition[1].value"]);
    }

    #[test]
    fn state_model_round_trips() {
        let m = Model {
            id: Tf::Known("g/r".into()),
            access_group_id: Tf::Known("g".into()),
            name: Tf::Known("n".into()),
            realm: Tf::Known("appid://r".into()),
            expiration_hours: Tf::Known(12),
            condition: vec![Condition {
                claim: Tf::Known("project".into()),
                operator: Tf::Known("IN".into()),
                value: Tf::Known("a,b".into()),
            }],
        };
        let v = to_value(&m, &AccessGroupDynamicRule::schema().value_type()).expect("encodes");
        assert_eq!(from_value::<Model>(&v).expect("decodes"), m);
    }
}
