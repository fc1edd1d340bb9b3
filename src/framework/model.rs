//! Serde models of resource values, so resource code works with plain structs.
//!
//! A field that may be unknown at plan time is a [`Tf<T>`]: known, null or unknown.
//! Decoding errors name the attribute path (`resource[0].instance_id: invalid type ...`).

use serde::de::{DeserializeOwned, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use super::diag::Diagnostics;
use super::error::OpError;
use super::path::{AttributePath, PathStep};
use super::value::{Type, Value, ValueError, UNKNOWN_SENTINEL};

/// A value that Terraform may not know yet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Tf<T> {
    Known(T),
    #[default]
    Null,
    Unknown,
}

impl<T> Tf<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Tf::Known(v) => Some(v),
            _ => None,
        }
    }
    pub fn is_unknown(&self) -> bool {
        matches!(self, Tf::Unknown)
    }
    pub fn is_null(&self) -> bool {
        matches!(self, Tf::Null)
    }
    pub fn is_known(&self) -> bool {
        matches!(self, Tf::Known(_))
    }
    pub fn into_option(self) -> Option<T> {
        match self {
            Tf::Known(v) => Some(v),
            _ => None,
        }
    }
    pub fn as_ref(&self) -> Tf<&T> {
        match self {
            Tf::Known(v) => Tf::Known(v),
            Tf::Null => Tf::Null,
            Tf::Unknown => Tf::Unknown,
        }
    }
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Tf<U> {
        match self {
            Tf::Known(v) => Tf::Known(f(v)),
            Tf::Null => Tf::Null,
            Tf::Unknown => Tf::Unknown,
        }
    }
    /// The value of a required attribute at apply time, when Terraform has resolved every value.
    pub fn require(&self, attr: &str) -> Result<&T, OpError> {
        self.known().ok_or_else(|| {
            OpError::at(
                AttributePath::attr(attr),
                format!("No {attr}"),
                format!("{attr} has no known value at apply time; this is a bug in the ibmqr provider, please report it."),
            )
        })
    }
}

impl Tf<String> {
    pub fn as_deref(&self) -> Option<&str> {
        self.known().map(String::as_str)
    }
}

impl<T> From<Option<T>> for Tf<T> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Tf::Null, Tf::Known)
    }
}

impl<T: Serialize> Serialize for Tf<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Tf::Known(v) => v.serialize(s),
            Tf::Null => s.serialize_none(),
            Tf::Unknown => s.serialize_str(UNKNOWN_SENTINEL),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Tf<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = serde_json::Value::deserialize(d)?;
        match raw {
            serde_json::Value::Null => Ok(Tf::Null),
            serde_json::Value::String(ref s) if s == UNKNOWN_SENTINEL => Ok(Tf::Unknown),
            other => T::deserialize(other).map(Tf::Known).map_err(serde::de::Error::custom),
        }
    }
}

/// Decodes a known value (apply, read, import: unknowns read as null).
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, ValueError> {
    decode_json(strip_unknown(value).to_json())
}

/// [`from_value`] with its error as diagnostics, for operations that answer with them.
pub fn decode<T: DeserializeOwned>(value: &Value) -> Result<T, Diagnostics> {
    Ok(from_value(value)?)
}

/// Decodes a plan-time value; fields of type `Tf<T>` see unknowns as `Tf::Unknown`.
pub fn from_value_with_unknowns<T: DeserializeOwned>(value: &Value) -> Result<T, ValueError> {
    decode_json(value.to_json())
}

/// Encodes a model as a value of the schema's type.
pub fn to_value<T: Serialize>(model: &T, ty: &Type) -> Result<Value, ValueError> {
    Value::from_json(&to_json(model)?, ty)
}

// The two functions below are the only places a model is serialized or deserialized. They are
// never inlined, so each model's serde code is compiled once, not once per caller: inlined into
// every operation of every type, it made the binary hundreds of kilobytes larger.

/// A model as JSON.
#[inline(never)]
pub(crate) fn to_json<T: Serialize>(model: &T) -> Result<serde_json::Value, ValueError> {
    serde_json::to_value(model).map_err(|e| ValueError { path: AttributePath::root(), message: format!("cannot encode: {e}") })
}

/// A model from JSON; the error names the attribute path.
#[inline(never)]
pub(crate) fn decode_json<T: DeserializeOwned>(json: serde_json::Value) -> Result<T, ValueError> {
    serde_path_to_error::deserialize(json).map_err(|e| {
        let steps = e
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Map { key } => Some(PathStep::Attr(key.clone())),
                serde_path_to_error::Segment::Seq { index } => Some(PathStep::Index(*index as i64)),
                _ => None,
            })
            .collect::<Vec<_>>();
        ValueError { path: AttributePath::from(steps), message: e.into_inner().to_string() }
    })
}

pub(crate) fn strip_unknown(value: &Value) -> Value {
    match value {
        Value::Unknown => Value::Null,
        Value::List(v) => Value::List(v.iter().map(strip_unknown).collect()),
        Value::Set(v) => Value::Set(v.iter().map(strip_unknown).collect()),
        Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), strip_unknown(v))).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), strip_unknown(v))).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[derive(Deserialize, Serialize, Debug, PartialEq)]
    struct Role {
        name: String,
        id: Tf<String>,
        actions: BTreeSet<String>,
        limit: Option<u64>,
    }

    fn ty() -> Type {
        Type::object([("name", Type::String), ("id", Type::String), ("actions", Type::set(Type::String)), ("limit", Type::Number)])
    }

    #[test]
    fn unknown_survives_a_round_trip_through_a_model() {
        let v = Value::from_json(&serde_json::json!({"name": "R", "actions": ["a"], "limit": 5}), &ty()).expect("value");
        let mut v2 = v.clone();
        v2.set("id", Value::Unknown);
        let role: Role = from_value_with_unknowns(&v2).expect("decodes");
        assert_eq!(role.id, Tf::Unknown);
        assert_eq!(role.limit, Some(5));
        let back = to_value(&role, &ty()).expect("encodes");
        assert!(back.get("id").expect("id").is_unknown());
        // At apply time an unknown reads as null.
        let role: Role = from_value(&v2).expect("decodes");
        assert_eq!(role.id, Tf::Null);
    }

    #[test]
    fn decode_errors_name_the_path() {
        let v = Value::from_json(&serde_json::json!({"name": "R", "actions": ["a"], "limit": -1}), &ty()).expect("value");
        let e = from_value::<Role>(&v).expect_err("negative limit");
        assert_eq!(e.path.to_string(), "limit");
    }
}
