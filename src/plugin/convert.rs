//! Conversions between the framework's types and the protocol's messages.

use crate::framework::{AnyResource, AttributePath, Diagnostics, IdentitySchema, Nesting, PathStep, Schema, Severity, Type, Value};

use super::proto;

pub fn schema_to_proto(schema: &Schema) -> proto::Schema {
    proto::Schema { version: schema.version, block: Some(block_to_proto(&schema.block, schema.version)) }
}

fn block_to_proto(block: &crate::framework::Block, version: i64) -> proto::schema::Block {
    proto::schema::Block {
        version,
        description: block.description.clone(),
        description_kind: proto::StringKind::Markdown as i32,
        deprecated: false,
        attributes: block
            .attributes
            .iter()
            .map(|a| proto::schema::Attribute {
                name: a.name.clone(),
                r#type: a.ty().to_json().to_string().into_bytes(),
                nested_type: None,
                description: a.description.clone(),
                required: a.required,
                optional: a.optional,
                computed: a.computed,
                sensitive: a.sensitive,
                description_kind: proto::StringKind::Markdown as i32,
                deprecated: false,
                write_only: a.write_only,
            })
            .collect(),
        block_types: block
            .blocks
            .iter()
            .map(|b| proto::schema::NestedBlock {
                type_name: b.name.clone(),
                block: Some(block_to_proto(&b.block, 0)),
                nesting: match b.nesting {
                    Nesting::Single => proto::schema::nested_block::NestingMode::Single as i32,
                    Nesting::List => proto::schema::nested_block::NestingMode::List as i32,
                },
                min_items: b.min_items,
                max_items: b.max_items,
            })
            .collect(),
    }
}

pub fn diagnostics_to_proto(diags: &Diagnostics) -> Vec<proto::Diagnostic> {
    diags
        .0
        .iter()
        .map(|d| proto::Diagnostic {
            severity: match d.severity {
                Severity::Error => proto::diagnostic::Severity::Error as i32,
                Severity::Warning => proto::diagnostic::Severity::Warning as i32,
            },
            summary: d.summary.clone(),
            detail: d.detail.clone(),
            attribute: d.path.as_ref().filter(|p| !p.is_empty()).map(path_to_proto),
        })
        .collect()
}

pub fn path_to_proto(path: &AttributePath) -> proto::AttributePath {
    use proto::attribute_path::step::Selector;
    proto::AttributePath {
        steps: path
            .steps()
            .iter()
            .map(|s| proto::attribute_path::Step {
                selector: Some(match s {
                    PathStep::Attr(n) => Selector::AttributeName(n.clone()),
                    PathStep::Key(k) => Selector::ElementKeyString(k.clone()),
                    PathStep::Index(i) => Selector::ElementKeyInt(*i),
                }),
            })
            .collect(),
    }
}

/// Reads a DynamicValue (msgpack, or JSON) as a value of `ty`; absent means null.
pub fn decode(dv: Option<&proto::DynamicValue>, ty: &Type) -> Result<Value, Diagnostics> {
    let Some(dv) = dv else { return Ok(Value::Null) };
    if !dv.msgpack.is_empty() {
        return Ok(Value::from_msgpack(&dv.msgpack, ty)?);
    }
    if !dv.json.is_empty() {
        let json: serde_json::Value = serde_json::from_slice(&dv.json)
            .map_err(|e| Diagnostics::error("Invalid value from Terraform", format!("JSON value could not be read: {e}")))?;
        return Ok(Value::from_json(&json, ty)?);
    }
    Ok(Value::Null)
}

/// A stored state (`UpgradeResourceState`'s raw JSON) as a value of the resource's current
/// schema: an older schema version goes through the resource's `upgrade_state` first.
pub fn upgrade_raw_state<S>(res: &dyn AnyResource<S>, version: i64, raw: &proto::RawState) -> Result<proto::DynamicValue, Diagnostics> {
    let ty = res.value_type();
    if raw.json.is_empty() {
        if raw.flatmap.is_empty() {
            return Ok(encode(&Value::Null, ty));
        }
        return Err(Diagnostics::error(
            "Unsupported state format",
            "this state was written in Terraform 0.11's flatmap format, which ibmqr never wrote; remove the resource from state and import it",
        ));
    }
    let json: serde_json::Value = serde_json::from_slice(&raw.json)
        .map_err(|e| Diagnostics::error("Unreadable state", format!("stored state is not valid JSON: {e}")))?;
    let json = if version < res.schema().version { res.upgrade_state(version, json)? } else { json };
    let value = Value::from_json(&json, ty)?;
    Ok(encode(&value, ty))
}

pub fn encode(value: &Value, ty: &Type) -> proto::DynamicValue {
    proto::DynamicValue { msgpack: value.to_msgpack(ty), json: Vec::new() }
}

/// An identity schema: every attribute a string, and every one required for import.
pub fn identity_schema_to_proto(identity: &IdentitySchema) -> proto::ResourceIdentitySchema {
    proto::ResourceIdentitySchema {
        version: identity.version,
        identity_attributes: identity
            .attributes
            .iter()
            .map(|a| proto::resource_identity_schema::IdentityAttribute {
                name: a.name.clone(),
                r#type: Type::String.to_json().to_string().into_bytes(),
                required_for_import: true,
                optional_for_import: false,
                description: a.description.clone(),
            })
            .collect(),
    }
}

/// An identity for a response; None (the field left out) when there is none.
pub fn encode_identity(identity: Option<Value>, ty: &Type) -> Option<proto::ResourceIdentityData> {
    identity.map(|value| proto::ResourceIdentityData { identity_data: Some(encode(&value, ty)) })
}

/// The identity a request carries; null when it carries none.
pub fn decode_identity(data: Option<&proto::ResourceIdentityData>, ty: &Type) -> Result<Value, Diagnostics> {
    decode(data.and_then(|d| d.identity_data.as_ref()), ty)
}
