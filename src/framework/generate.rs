//! Configuration from an imported state (GenerateResourceConfig, Terraform 1.14+'s
//! `plan -generate-config-out`), written so that it plans no changes once applied: what the
//! configuration would not hold is left out, read from the schema alone.
//!
//! - computed-only attributes (IBM sets them) and write-only ones (never in state) are null;
//! - a value equal to the attribute's declared default is null, the default plans it anyway;
//! - of an exactly-one-of or conflicts-with group, only the first set attribute in the rule's
//!   order is kept, since the others would fail validation;
//! - set elements are sorted, so the same object always gives the same file.

use super::schema::{Block, Nesting};
use super::value::Value;

/// The configuration `state` would come from, as a value of the block's type.
pub fn config_from_state(block: &Block, state: &Value) -> Value {
    if state.is_null() || state.is_unknown() {
        return Value::Null;
    }
    let mut config = state.clone();
    for attr in &block.attributes {
        let value = state.get(&attr.name).cloned().unwrap_or_default();
        let computed_only = attr.computed && !attr.optional && !attr.required;
        let is_default = attr.default.as_ref().is_some_and(|d| *d == value);
        let kept = if computed_only || attr.write_only || is_default || value.is_unknown() { Value::Null } else { sorted(value) };
        config.set(&attr.name, kept);
    }
    for rule in &block.rules {
        let mut set = rule.attrs().iter().filter(|a| config.get(a).is_some_and(|v| !v.is_null()));
        // The first set attribute stays; the rest go.
        let _kept = set.next();
        let dropped: Vec<String> = set.cloned().collect();
        for name in dropped {
            config.set(&name, Value::Null);
        }
    }
    for nested in &block.blocks {
        let value = state.get(&nested.name).cloned().unwrap_or_default();
        let generated = match (nested.nesting, value) {
            (Nesting::Single, inner) => config_from_state(&nested.block, &inner),
            (Nesting::List, Value::List(items)) => Value::List(items.iter().map(|item| config_from_state(&nested.block, item)).collect()),
            (Nesting::List, other) => other,
        };
        config.set(&nested.name, generated);
    }
    config
}

/// Set elements in a stable order (by their JSON text), recursively.
fn sorted(value: Value) -> Value {
    match value {
        Value::Set(items) => {
            let mut items: Vec<Value> = items.into_iter().map(sorted).collect();
            items.sort_by_key(|v| v.to_json().to_string());
            Value::Set(items)
        }
        Value::List(items) => Value::List(items.into_iter().map(sorted).collect()),
        Value::Map(m) => Value::Map(m.into_iter().map(|(k, v)| (k, sorted(v))).collect()),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, sorted(v))).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::{Attribute, NestedBlock};
    use crate::framework::validate::Rule;

    fn block() -> Block {
        Block::new("t")
            .attr(Attribute::string("id").computed())
            .attr(Attribute::string("name").required())
            .attr(Attribute::string("plan").optional().computed())
            .attr(Attribute::string("plan_id").optional().computed())
            .attr(Attribute::string("region").optional().computed())
            .attr(Attribute::bool("purge").default(Value::Bool(false)))
            .attr(Attribute::string("secret_wo").optional().write_only())
            .attr(Attribute::string_set("tags").optional())
            .rule(Rule::exactly_one_of(&["plan", "plan_id"], ""))
            .block(NestedBlock::list(
                "rule",
                Block::new("r").attr(Attribute::string("v").required()).attr(Attribute::string("at").computed()),
            ))
    }

    #[test]
    fn generated_config_keeps_only_what_a_user_writes() {
        let state = serde_json::json!({
            "id": "i-1", "name": "n", "plan": "open", "plan_id": "p-1", "region": "us-east", "purge": false,
            "secret_wo": null, "tags": ["b", "a"], "rule": [{"v": "x", "at": "now"}]
        });
        let state = Value::from_json(&state, &block().value_type()).expect("state");
        let config = config_from_state(&block(), &state).to_json();
        let expected = serde_json::json!({
            "id": null, "name": "n", "plan": "open", "plan_id": null, "region": "us-east", "purge": null,
            "secret_wo": null, "tags": ["a", "b"], "rule": [{"v": "x", "at": null}]
        });
        assert_eq!(config, expected);
    }

    #[test]
    fn a_value_other_than_the_default_is_written() {
        let state =
            Value::from_json(&serde_json::json!({"name": "n", "plan_id": "p-1", "purge": true}), &block().value_type()).expect("state");
        let config = config_from_state(&block(), &state);
        assert_eq!(config.get("purge"), Some(&Value::Bool(true)));
        assert_eq!(config.get("plan_id"), Some(&Value::string("p-1")), "the only plan attribute set stays");
    }
}
