//! Terraform values as the provider sees them: typed by the schema, each possibly null or unknown.
//!
//! Terraform sends values as msgpack (unknown = a msgpack extension) or, for stored state, JSON.
//! Both decode against a [`Type`], so lists, sets, maps and objects are told apart.

use std::collections::BTreeMap;
use std::fmt;

use super::path::{AttributePath, PathStep};

/// A Terraform (cty) type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    String,
    Number,
    Bool,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
}

impl Type {
    pub fn list(of: Type) -> Type {
        Type::List(Box::new(of))
    }
    pub fn set(of: Type) -> Type {
        Type::Set(Box::new(of))
    }
    pub fn map(of: Type) -> Type {
        Type::Map(Box::new(of))
    }
    pub fn object<const N: usize>(attrs: [(&str, Type); N]) -> Type {
        Type::Object(attrs.into_iter().map(|(k, t)| (k.to_string(), t)).collect())
    }

    /// The JSON type expression Terraform expects in a schema: `"string"`, `["list","string"]`, ...
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Type::String => json!("string"),
            Type::Number => json!("number"),
            Type::Bool => json!("bool"),
            Type::List(t) => json!(["list", t.to_json()]),
            Type::Set(t) => json!(["set", t.to_json()]),
            Type::Map(t) => json!(["map", t.to_json()]),
            Type::Object(attrs) => {
                let fields: serde_json::Map<String, serde_json::Value> = attrs.iter().map(|(k, t)| (k.clone(), t.to_json())).collect();
                json!(["object", fields])
            }
        }
    }
}

/// A value of some [`Type`]. Sets keep their elements in a vector; equality ignores their order.
#[derive(Clone, Debug, Default)]
pub enum Value {
    Unknown,
    #[default]
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    List(Vec<Value>),
    Set(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Object(BTreeMap<String, Value>),
}

/// A value that could not be read as its type, with where it was.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueError {
    pub path: AttributePath,
    pub message: String,
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ValueError {}

fn err<T>(path: &[PathStep], message: impl Into<String>) -> Result<T, ValueError> {
    Err(ValueError { path: AttributePath::from(path.to_vec()), message: message.into() })
}

/// Extension codes Terraform uses for an unknown value: 0 (plain) and 12 (refined, Terraform ≥ 1.6).
const UNKNOWN_EXT_CODES: [i8; 2] = [0, 12];

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Unknown, Unknown) | (Null, Null) => true,
            (Bool(a), Bool(b)) => a == b,
            (Number(a), Number(b)) => a.as_f64() == b.as_f64(),
            (String(a), String(b)) => a == b,
            (List(a), List(b)) => a == b,
            (Set(a), Set(b)) => a.len() == b.len() && a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x)),
            (Map(a), Map(b)) | (Object(a), Object(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }

    /// True when neither this value nor anything inside it is unknown.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::List(v) | Value::Set(v) => v.iter().all(Value::is_wholly_known),
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            _ => true,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// An attribute of an object value (None for null, unknown or non-objects).
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Object(m) | Value::Map(m) => m.get(name),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        match self {
            Value::Object(m) | Value::Map(m) => m.get_mut(name),
            _ => None,
        }
    }

    /// Sets an attribute of an object value; does nothing on non-objects.
    pub fn set(&mut self, name: &str, value: Value) {
        if let Value::Object(m) = self {
            m.insert(name.to_string(), value);
        }
    }

    /// Elements of a list or set.
    pub fn elements(&self) -> &[Value] {
        match self {
            Value::List(v) | Value::Set(v) => v,
            _ => &[],
        }
    }

    /// The value at a path, if every step exists.
    pub fn at(&self, path: &AttributePath) -> Option<&Value> {
        let mut cur = self;
        for step in path.steps() {
            cur = match (step, cur) {
                (PathStep::Attr(name), v) => v.get(name)?,
                (PathStep::Key(k), Value::Map(m)) => m.get(k)?,
                (PathStep::Index(i), Value::List(v)) => v.get(usize::try_from(*i).ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    // ----- msgpack -----

    pub fn from_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, ValueError> {
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        let mut cursor = bytes;
        let raw = rmpv::decode::read_value(&mut cursor)
            .map_err(|e| ValueError { path: AttributePath::root(), message: format!("invalid msgpack: {e}") })?;
        Self::from_rmpv(&raw, ty, &mut Vec::new())
    }

    fn from_rmpv(raw: &rmpv::Value, ty: &Type, path: &mut Vec<PathStep>) -> Result<Value, ValueError> {
        use rmpv::Value as M;
        match raw {
            M::Nil => return Ok(Value::Null),
            M::Ext(code, _) if UNKNOWN_EXT_CODES.contains(code) => return Ok(Value::Unknown),
            _ => {}
        }
        match ty {
            Type::String => match raw {
                M::String(s) => Ok(Value::String(s.as_str().unwrap_or_default().to_string())),
                M::Binary(b) => Ok(Value::String(String::from_utf8_lossy(b).into_owned())),
                other => err(path, format!("expected a string, got {other}")),
            },
            Type::Bool => match raw {
                M::Boolean(b) => Ok(Value::Bool(*b)),
                other => err(path, format!("expected a bool, got {other}")),
            },
            Type::Number => match raw {
                M::Integer(i) => {
                    if let Some(v) = i.as_i64() {
                        Ok(Value::Number(v.into()))
                    } else if let Some(v) = i.as_u64() {
                        Ok(Value::Number(v.into()))
                    } else {
                        err(path, "integer out of range")
                    }
                }
                M::F32(f) => number_from_f64(f64::from(*f), path),
                M::F64(f) => number_from_f64(*f, path),
                // cty sends numbers that do not fit a float64 as decimal strings.
                M::String(s) => {
                    let text = s.as_str().unwrap_or_default();
                    match text.parse::<serde_json::Number>() {
                        Ok(n) => Ok(Value::Number(n)),
                        Err(_) => err(path, format!("expected a number, got {text:?}")),
                    }
                }
                other => err(path, format!("expected a number, got {other}")),
            },
            Type::List(elem) | Type::Set(elem) => {
                let M::Array(items) = raw else { return err(path, "expected a list") };
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    path.push(PathStep::Index(i as i64));
                    out.push(Self::from_rmpv(item, elem, path)?);
                    path.pop();
                }
                Ok(if matches!(ty, Type::List(_)) { Value::List(out) } else { Value::Set(out) })
            }
            Type::Map(elem) => {
                let M::Map(entries) = raw else { return err(path, "expected a map") };
                let mut out = BTreeMap::new();
                for (k, v) in entries {
                    let key = k.as_str().unwrap_or_default().to_string();
                    path.push(PathStep::Key(key.clone()));
                    out.insert(key, Self::from_rmpv(v, elem, path)?);
                    path.pop();
                }
                Ok(Value::Map(out))
            }
            Type::Object(attrs) => {
                let M::Map(entries) = raw else { return err(path, "expected an object") };
                let mut out: BTreeMap<String, Value> = attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
                for (k, v) in entries {
                    let key = k.as_str().unwrap_or_default();
                    // Attributes the schema no longer has are dropped.
                    if let Some(attr_ty) = attrs.get(key) {
                        path.push(PathStep::Attr(key.to_string()));
                        out.insert(key.to_string(), Self::from_rmpv(v, attr_ty, path)?);
                        path.pop();
                    }
                }
                Ok(Value::Object(out))
            }
        }
    }

    pub fn to_msgpack(&self, ty: &Type) -> Vec<u8> {
        let raw = self.to_rmpv(ty);
        let mut out = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = rmpv::encode::write_value(&mut out, &raw);
        out
    }

    fn to_rmpv(&self, ty: &Type) -> rmpv::Value {
        use rmpv::Value as M;
        match (self, ty) {
            (Value::Null, _) => M::Nil,
            (Value::Unknown, _) => M::Ext(0, vec![0]),
            (Value::Bool(b), _) => M::Boolean(*b),
            (Value::Number(n), _) => {
                if let Some(i) = n.as_i64() {
                    M::from(i)
                } else if let Some(u) = n.as_u64() {
                    M::from(u)
                } else {
                    M::F64(n.as_f64().unwrap_or(0.0))
                }
            }
            (Value::String(s), _) => M::from(s.as_str()),
            (Value::List(items) | Value::Set(items), Type::List(elem) | Type::Set(elem)) => {
                M::Array(items.iter().map(|v| v.to_rmpv(elem)).collect())
            }
            (Value::Map(m), Type::Map(elem)) => M::Map(m.iter().map(|(k, v)| (M::from(k.as_str()), v.to_rmpv(elem))).collect()),
            (Value::Object(m), Type::Object(attrs)) => {
                M::Map(attrs.iter().map(|(k, t)| (M::from(k.as_str()), m.get(k).unwrap_or(&Value::Null).to_rmpv(t))).collect())
            }
            // A value that does not fit its type is a provider bug; encode it as null rather than crash.
            _ => M::Nil,
        }
    }

    // ----- JSON -----

    /// Reads JSON (stored state, or a serde-serialized model) as a value of `ty`.
    /// Strings equal to [`UNKNOWN_SENTINEL`] become unknown values.
    pub fn from_json(json: &serde_json::Value, ty: &Type) -> Result<Value, ValueError> {
        Self::from_json_at(json, ty, &mut Vec::new())
    }

    fn from_json_at(json: &serde_json::Value, ty: &Type, path: &mut Vec<PathStep>) -> Result<Value, ValueError> {
        use serde_json::Value as J;
        match json {
            J::Null => return Ok(Value::Null),
            J::String(s) if s == UNKNOWN_SENTINEL => return Ok(Value::Unknown),
            _ => {}
        }
        match ty {
            Type::String => match json {
                J::String(s) => Ok(Value::String(s.clone())),
                J::Number(n) => Ok(Value::String(n.to_string())),
                J::Bool(b) => Ok(Value::String(b.to_string())),
                other => err(path, format!("expected a string, got {other}")),
            },
            Type::Bool => match json {
                J::Bool(b) => Ok(Value::Bool(*b)),
                J::String(s) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
                other => err(path, format!("expected a bool, got {other}")),
            },
            Type::Number => match json {
                J::Number(n) => Ok(Value::Number(n.clone())),
                J::String(s) => match s.parse::<serde_json::Number>() {
                    Ok(n) => Ok(Value::Number(n)),
                    Err(_) => err(path, format!("expected a number, got {s:?}")),
                },
                other => err(path, format!("expected a number, got {other}")),
            },
            Type::List(elem) | Type::Set(elem) => {
                let J::Array(items) = json else { return err(path, "expected a list") };
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    path.push(PathStep::Index(i as i64));
                    out.push(Self::from_json_at(item, elem, path)?);
                    path.pop();
                }
                Ok(if matches!(ty, Type::List(_)) { Value::List(out) } else { Value::Set(out) })
            }
            Type::Map(elem) => {
                let J::Object(entries) = json else { return err(path, "expected a map") };
                let mut out = BTreeMap::new();
                for (k, v) in entries {
                    path.push(PathStep::Key(k.clone()));
                    out.insert(k.clone(), Self::from_json_at(v, elem, path)?);
                    path.pop();
                }
                Ok(Value::Map(out))
            }
            Type::Object(attrs) => {
                let J::Object(entries) = json else { return err(path, "expected an object") };
                let mut out = BTreeMap::new();
                for (k, t) in attrs {
                    path.push(PathStep::Attr(k.clone()));
                    let v = match entries.get(k) {
                        Some(j) => Self::from_json_at(j, t, path)?,
                        None => Value::Null,
                    };
                    out.insert(k.clone(), v);
                    path.pop();
                }
                Ok(Value::Object(out))
            }
        }
    }

    /// JSON form (unknown values become [`UNKNOWN_SENTINEL`]); used to feed serde models.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Unknown => J::String(UNKNOWN_SENTINEL.to_string()),
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => J::Number(n.clone()),
            Value::String(s) => J::String(s.clone()),
            Value::List(v) | Value::Set(v) => J::Array(v.iter().map(Value::to_json).collect()),
            Value::Map(m) | Value::Object(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
        }
    }
}

fn number_from_f64(f: f64, path: &[PathStep]) -> Result<Value, ValueError> {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        return Ok(Value::Number((f as i64).into()));
    }
    match serde_json::Number::from_f64(f) {
        Some(n) => Ok(Value::Number(n)),
        None => err(path, "number is not finite"),
    }
}

/// How an unknown value travels through serde models (see `framework::model`). Contains NUL bytes,
/// which Terraform configuration strings cannot hold, so it never collides with user data.
pub const UNKNOWN_SENTINEL: &str = "\u{0}ibmqr:unknown\u{0}";

#[cfg(test)]
mod tests {
    use super::*;

    fn role_type() -> Type {
        Type::object([
            ("name", Type::String),
            ("actions", Type::set(Type::String)),
            ("count", Type::Number),
            ("block", Type::list(Type::object([("x", Type::Bool)]))),
        ])
    }

    #[test]
    fn msgpack_round_trip_keeps_null_unknown_and_collections() {
        let ty = role_type();
        let mut m = BTreeMap::new();
        m.insert("name".into(), Value::string("QiskitUser"));
        m.insert("actions".into(), Value::Set(vec![Value::string("a"), Value::Unknown]));
        m.insert("count".into(), Value::Number(3.into()));
        m.insert("block".into(), Value::List(vec![]));
        let v = Value::Object(m);
        let bytes = v.to_msgpack(&ty);
        let back = Value::from_msgpack(&bytes, &ty).expect("decodes");
        assert_eq!(back, v);
        assert!(back.get("actions").expect("attr").elements()[1].is_unknown());
    }

    #[test]
    fn unknown_is_the_extension_terraform_uses() {
        assert_eq!(Value::Unknown.to_msgpack(&Type::String), vec![0xd4, 0, 0]);
        // Refined unknowns (extension 12) from newer Terraform read as unknown too.
        let refined = [0xc7, 0x01, 0x0c, 0x80];
        assert!(Value::from_msgpack(&refined, &Type::String).expect("decodes").is_unknown());
    }

    #[test]
    fn decode_error_names_the_attribute_path() {
        let ty = role_type();
        let json = serde_json::json!({"name": "x", "block": [{"x": "not-a-bool"}]});
        let e = Value::from_json(&json, &ty).expect_err("must fail");
        assert_eq!(e.path.to_string(), "block[0].x");
    }

    #[test]
    fn sets_compare_without_order_and_schema_drops_old_attributes() {
        assert_eq!(Value::Set(vec![Value::string("a"), Value::string("b")]), Value::Set(vec![Value::string("b"), Value::string("a")]));
        let ty = Type::object([("name", Type::String)]);
        let v = Value::from_json(&serde_json::json!({"name": "n", "gone": 1}), &ty).expect("decodes");
        assert_eq!(v.get("name"), Some(&Value::string("n")));
        assert!(v.get("gone").is_none());
    }

    #[test]
    fn type_json_matches_terraform_syntax() {
        let t = Type::list(Type::object([("n", Type::String)]));
        assert_eq!(t.to_json(), serde_json::json!(["list", ["object", {"n": "string"}]]));
    }
}
