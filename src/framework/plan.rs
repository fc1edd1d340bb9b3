//! The plan every resource gets before its own `modify_plan`: defaults, computed values unknown
//! on create, prior computed values kept on update, and replacement for `force_new` attributes.

use super::path::AttributePath;
use super::schema::{Block, Nesting};
use super::value::Value;

/// The planned value and the attributes whose change replaces the object.
pub fn default_plan(block: &Block, prior: Option<&Value>, config: &Value, proposed: &Value) -> (Value, Vec<AttributePath>) {
    let mut planned = proposed.clone();
    let is_create = prior.is_none();
    fill_block(block, config, &mut planned, is_create);

    let mut requires_replace = Vec::new();
    if let Some(prior) = prior {
        collect_replacements(block, prior, &planned, AttributePath::root(), &mut requires_replace);
    }
    if !requires_replace.is_empty() {
        plan_new_object(block, config, &mut planned);
    }
    (planned, requires_replace)
}

/// Plans a replacement: what the API computes is not known until the new object exists, so
/// every computed attribute the configuration leaves out becomes unknown. For a resource whose
/// own `modify_plan` decides on a replacement the framework did not see.
pub fn plan_new_object(block: &Block, config: &Value, planned: &mut Value) {
    fill_block(block, config, planned, true);
}

fn fill_block(block: &Block, config: &Value, planned: &mut Value, new_object: bool) {
    for attr in &block.attributes {
        let configured = config.get(&attr.name).cloned().unwrap_or_default();
        if !configured.is_null() {
            continue;
        }
        if let Some(default) = &attr.default {
            planned.set(&attr.name, default.clone());
        } else if attr.computed && new_object {
            planned.set(&attr.name, Value::Unknown);
        }
    }
    for nested in &block.blocks {
        let Some(config_blocks) = config.get(&nested.name) else { continue };
        let Some(planned_blocks) = planned.get_mut(&nested.name) else { continue };
        match nested.nesting {
            Nesting::List => {
                if let Value::List(items) = planned_blocks {
                    for (i, item) in items.iter_mut().enumerate() {
                        let cfg = config_blocks.elements().get(i).cloned().unwrap_or_default();
                        fill_block(&nested.block, &cfg, item, new_object);
                    }
                }
            }
            Nesting::Single => {
                if !planned_blocks.is_null() {
                    fill_block(&nested.block, config_blocks, planned_blocks, new_object);
                }
            }
        }
    }
}

fn collect_replacements(block: &Block, prior: &Value, planned: &Value, at: AttributePath, out: &mut Vec<AttributePath>) {
    for attr in block.attributes.iter().filter(|a| a.force_new) {
        let before = prior.get(&attr.name).cloned().unwrap_or_default();
        let after = planned.get(&attr.name).cloned().unwrap_or_default();
        if before != after {
            out.push(at.clone().then_attr(&attr.name));
        }
    }
    for nested in &block.blocks {
        let before = prior.get(&nested.name).cloned().unwrap_or_default();
        let after = planned.get(&nested.name).cloned().unwrap_or_default();
        match nested.nesting {
            Nesting::List => {
                for (i, (b, a)) in before.elements().iter().zip(after.elements()).enumerate() {
                    let path = at.clone().then_attr(&nested.name).then_index(i as i64);
                    collect_replacements(&nested.block, b, a, path, out);
                }
            }
            Nesting::Single => collect_replacements(&nested.block, &before, &after, at.clone().then_attr(&nested.name), out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::Attribute;

    fn block() -> Block {
        Block::new("t")
            .attr(Attribute::string("name").required().force_new())
            .attr(Attribute::string("display_name").required())
            .attr(Attribute::string("service").default(Value::string("quantum-computing")).force_new())
            .attr(Attribute::string("id").computed())
    }

    fn val(json: serde_json::Value) -> Value {
        Value::from_json(&json, &block().value_type()).expect("value")
    }

    #[test]
    fn create_fills_defaults_and_marks_computed_unknown() {
        let config = val(serde_json::json!({"name": "A", "display_name": "a"}));
        let (planned, _) = default_plan(&block(), None, &config, &config);
        assert_eq!(planned.get("service"), Some(&Value::string("quantum-computing")));
        assert!(planned.get("id").expect("id").is_unknown());
    }

    #[test]
    fn update_keeps_computed_and_flags_force_new() {
        let prior = val(serde_json::json!({"name": "A", "display_name": "a", "service": "quantum-computing", "id": "x"}));
        let config = val(serde_json::json!({"name": "B", "display_name": "a"}));
        let mut proposed = config.clone();
        proposed.set("id", Value::string("x"));
        let (planned, requires_replace) = default_plan(&block(), Some(&prior), &config, &proposed);
        assert_eq!(requires_replace, vec![AttributePath::attr("name")]);
        assert!(planned.get("id").expect("id").is_unknown(), "a replaced object gets a new id");

        let config = val(serde_json::json!({"name": "A", "display_name": "b"}));
        let mut proposed = config.clone();
        proposed.set("id", Value::string("x"));
        let (planned, requires_replace) = default_plan(&block(), Some(&prior), &config, &proposed);
        assert!(requires_replace.is_empty());
        assert_eq!(planned.get("id"), Some(&Value::string("x")));
    }
}
