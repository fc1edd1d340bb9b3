//! Resource identity (Terraform 1.12+): a small object, stored beside the state, that names the
//! remote object for good. `import { to = …, identity = { … } }` and list results carry it.
//!
//! A type declares its identity from attributes that are never updated in place and are known
//! after apply: Terraform fails on an identity that changes or stays unknown. Every identity
//! attribute is a string, and the type's import ID is its identity's attributes joined by `/` in
//! declared order, so that an identity always imports the same object an import ID does.

use std::collections::BTreeMap;

use super::diag::Diagnostics;
use super::path::AttributePath;
use super::value::{Type, Value};

/// Where an identity attribute's value comes from in the state.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Source {
    /// A state attribute, as it is.
    Attribute(String),
    /// A state attribute, lowercased: for values whose letter case may change in place.
    Lowercase(String),
    /// One `/`-separated part of the state's `id` (`GROUP_ID/RULE_ID`: part 1 is the rule).
    IdPart(usize),
}

#[derive(Clone, Debug)]
pub struct IdentityAttribute {
    pub name: String,
    pub description: String,
    source: Source,
}

impl IdentityAttribute {
    /// The state attribute this comes from, and whether it is lowercased; None for a part of `id`.
    pub fn state_attribute(&self) -> Option<(&str, bool)> {
        match &self.source {
            Source::Attribute(a) => Some((a, false)),
            Source::Lowercase(a) => Some((a, true)),
            Source::IdPart(_) => None,
        }
    }
}

/// A type's identity schema: its attributes, in import-ID order.
#[derive(Clone, Debug, Default)]
pub struct IdentitySchema {
    /// Bumped when the attributes change; UpgradeResourceIdentity then moves stored identities.
    pub version: i64,
    pub attributes: Vec<IdentityAttribute>,
}

impl IdentitySchema {
    pub fn new() -> Self {
        Self::default()
    }

    /// The state attribute `name`, as the identity attribute of the same name.
    pub fn attr(self, name: &str, description: &str) -> Self {
        self.from_attr(name, name, description)
    }

    /// The state attribute `state_attribute`, as the identity attribute `name`.
    pub fn from_attr(self, name: &str, state_attribute: &str, description: &str) -> Self {
        self.push(name, description, Source::Attribute(state_attribute.to_string()))
    }

    /// The state attribute `state_attribute` lowercased, as the identity attribute `name`.
    pub fn lowercase(self, name: &str, state_attribute: &str, description: &str) -> Self {
        self.push(name, description, Source::Lowercase(state_attribute.to_string()))
    }

    /// Part `index` of the state's `id` split at `/`, as the identity attribute `name`.
    pub fn id_part(self, name: &str, index: usize, description: &str) -> Self {
        self.push(name, description, Source::IdPart(index))
    }

    fn push(mut self, name: &str, description: &str, source: Source) -> Self {
        self.attributes.push(IdentityAttribute { name: name.to_string(), description: description.to_string(), source });
        self
    }

    /// The object type of identity values: every attribute a string.
    pub fn value_type(&self) -> Type {
        Type::Object(self.attributes.iter().map(|a| (a.name.clone(), Type::String)).collect())
    }

    /// The identity of a state (or of a planned state, whose unknown parts stay unknown). None
    /// for a null state, and for one that lacks a part (a create interrupted before IBM answered):
    /// Terraform then stores no identity rather than a wrong one.
    pub fn of_state(&self, state: &Value) -> Option<Value> {
        if state.is_null() || state.is_unknown() {
            return None;
        }
        let mut fields = BTreeMap::new();
        for attr in &self.attributes {
            let value = match &attr.source {
                Source::Attribute(name) => state.get(name).cloned().unwrap_or_default(),
                Source::Lowercase(name) => match state.get(name) {
                    Some(Value::String(s)) => Value::String(s.to_lowercase()),
                    other => other.cloned().unwrap_or_default(),
                },
                Source::IdPart(index) => match state.get("id") {
                    Some(Value::String(id)) => id.split('/').nth(*index).map(Value::string).unwrap_or_default(),
                    other => other.cloned().unwrap_or_default(),
                },
            };
            if value.is_null() || value.as_str() == Some("") {
                return None;
            }
            fields.insert(attr.name.clone(), value);
        }
        Some(Value::Object(fields))
    }

    /// The import ID an identity names. Every attribute is required: a missing one is an error
    /// on it that says what the identity holds.
    pub fn import_id(&self, type_name: &str, identity: &Value) -> Result<String, Diagnostics> {
        let mut parts = Vec::with_capacity(self.attributes.len());
        let mut diags = Diagnostics::new();
        for (i, attr) in self.attributes.iter().enumerate() {
            // Only the last part may hold a `/` (a CRN's `a/ACCOUNT`): the import ID splits at
            // the first ones.
            let last = i + 1 == self.attributes.len();
            match identity.get(&attr.name).and_then(Value::as_str).map(str::trim) {
                Some(part) if !part.is_empty() && (last || !part.contains('/')) => parts.push(part.to_string()),
                _ => diags.add_attr_error(
                    AttributePath::attr(&attr.name),
                    format!("Invalid identity: {}", attr.name),
                    format!(
                        "The identity of {type_name} needs {} set{}: {}.{}",
                        attr.name,
                        if last { "" } else { ", without \"/\"" },
                        attr.description.trim_end_matches('.'),
                        self.listing()
                    ),
                ),
            }
        }
        if diags.has_errors() {
            return Err(diags);
        }
        Ok(parts.join("/"))
    }

    /// " Its attributes: a, b." for error messages.
    fn listing(&self) -> String {
        let names: Vec<&str> = self.attributes.iter().map(|a| a.name.as_str()).collect();
        format!(" Its attributes: {}.", names.join(", "))
    }

    /// An identity from an import ID, for examples in the docs: the ID split at `/` into the
    /// declared attributes (the last takes the rest).
    pub fn from_import_id(&self, id: &str) -> Vec<(String, String)> {
        let parts: Vec<&str> = id.splitn(self.attributes.len().max(1), '/').collect();
        self.attributes.iter().zip(parts).map(|(a, part)| (a.name.clone(), part.to_string())).collect()
    }

    /// A stored identity (JSON) as a value of the current identity type. Only version 0 exists;
    /// an unknown newer version is refused rather than misread.
    pub fn upgrade(&self, type_name: &str, from_version: i64, raw: &serde_json::Value) -> Result<Value, Diagnostics> {
        if from_version > self.version {
            return Err(Diagnostics::error(
                "Identity from a newer provider",
                format!(
                    "the stored identity of this {type_name} has version {from_version}, newer than this provider's {}; upgrade the ibmqr provider",
                    self.version
                ),
            ));
        }
        Ok(Value::from_json(raw, &self.value_type())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member_state(id: &str) -> Value {
        let ty = Type::object([("id", Type::String), ("email", Type::String), ("group", Type::String)]);
        Value::from_json(&serde_json::json!({"id": id, "email": "Ada@Uni.EDU", "group": "G-1"}), &ty).expect("state")
    }

    fn schema() -> IdentitySchema {
        IdentitySchema::new().from_attr("access_group_id", "group", "The group.").id_part("rule_id", 1, "The rule.").lowercase(
            "email",
            "email",
            "The email, lowercased.",
        )
    }

    #[test]
    fn identity_is_read_from_the_state() {
        let identity = schema().of_state(&member_state("G-1/R-2")).expect("identity");
        let expected = serde_json::json!({"access_group_id": "G-1", "rule_id": "R-2", "email": "ada@uni.edu"});
        assert_eq!(identity.to_json(), expected);
        assert_eq!(schema().import_id("t", &identity).expect("id"), "G-1/R-2/ada@uni.edu");
    }

    #[test]
    fn a_state_missing_a_part_has_no_identity_and_unknowns_stay_unknown() {
        assert!(schema().of_state(&member_state("G-1")).is_none());
        assert!(schema().of_state(&Value::Null).is_none());
        let mut planned = member_state("x");
        planned.set("id", Value::Unknown);
        let identity = schema().of_state(&planned).expect("identity");
        assert!(identity.get("rule_id").expect("rule_id").is_unknown());
        assert_eq!(identity.get("access_group_id"), Some(&Value::string("G-1")));
    }

    #[test]
    fn an_incomplete_identity_names_the_missing_attribute() {
        let ty = schema().value_type();
        let identity = Value::from_json(&serde_json::json!({"access_group_id": "G-1", "rule_id": ""}), &ty).expect("identity");
        let errors = schema().import_id("t", &identity).expect_err("incomplete");
        let paths: Vec<String> = errors.0.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect();
        assert_eq!(paths, ["rule_id", "email"]);
        assert_eq!(
            schema().from_import_id("G/R/a@b.c"),
            [("access_group_id", "G"), ("rule_id", "R"), ("email", "a@b.c")].map(|(a, b)| (a.to_string(), b.to_string()))
        );
    }
}
