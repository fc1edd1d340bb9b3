//! Request and response bodies as the trace log shows them: every value that can carry a
//! credential replaced, whatever the API. Terraform keeps provider logs (`TF_LOG=trace`) in CI
//! artifacts and bug reports, so a body is never logged without going through here.

use serde_json::Value;

/// What a redacted value becomes.
pub const REDACTED: &str = "[redacted]";

/// Longest body text a log line carries; the rest is cut (pages of thousands of users are noise).
const MAX_LOGGED: usize = 4096;

/// Field names (compared without case, `_` and `-`) whose values are credentials: IAM's token
/// exchange (`apikey`, `access_token`, `refresh_token`, `delegated_refresh_token`), App ID's users
/// (`password`, `newPassword`), identity providers' `secrets`, and OAuth clients' secrets.
fn is_secret_field(name: &str) -> bool {
    let folded: String = name.chars().filter(|c| *c != '_' && *c != '-').flat_map(char::to_lowercase).collect();
    matches!(
        folded.as_str(),
        "apikey"
            | "accesstoken"
            | "refreshtoken"
            | "delegatedrefreshtoken"
            | "idtoken"
            | "password"
            | "newpassword"
            | "oldpassword"
            | "secret"
            | "secrets"
            | "clientsecret"
            | "authorization"
    )
}

/// A JSON value with every secret field's value, at any depth, replaced by [`REDACTED`].
pub fn json(value: &Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields.iter().map(|(name, v)| (name.clone(), if is_secret_field(name) { Value::from(REDACTED) } else { json(v) })).collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(json).collect()),
        other => other.clone(),
    }
}

/// A JSON body as one log line shows it: redacted, and cut when long.
pub fn json_body(value: &Value) -> String {
    cut(json(value).to_string())
}

/// The values of a JSON body's secret fields, at any depth: what an error answer to it must not
/// repeat.
pub fn secret_values(value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    collect_secrets(value, false, &mut found);
    found
}

fn collect_secrets(value: &Value, under_secret: bool, found: &mut Vec<String>) {
    match value {
        Value::String(text) if under_secret && !text.is_empty() => found.push(text.clone()),
        Value::Object(fields) => fields.iter().for_each(|(name, v)| collect_secrets(v, under_secret || is_secret_field(name), found)),
        Value::Array(items) => items.iter().for_each(|v| collect_secrets(v, under_secret, found)),
        _ => {}
    }
}

/// A body with each of `secrets` replaced by [`REDACTED`], as sent and as JSON escapes it.
pub fn without(body: &[u8], secrets: &[String]) -> Vec<u8> {
    if secrets.is_empty() {
        return body.to_vec();
    }
    let mut text = String::from_utf8_lossy(body).into_owned();
    for secret in secrets {
        let quoted = serde_json::to_string(secret).unwrap_or_default();
        let escaped = quoted.strip_prefix('"').and_then(|q| q.strip_suffix('"')).unwrap_or_default();
        // The escaped form first: it may contain the plain one.
        for form in [escaped, secret.as_str()] {
            if !form.is_empty() {
                text = text.replace(form, REDACTED);
            }
        }
    }
    text.into_bytes()
}

/// A form body (`application/x-www-form-urlencoded`) with the secret fields' values replaced.
pub fn form(body: &str) -> String {
    let pairs = url::form_urlencoded::parse(body.as_bytes());
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        out.append_pair(&name, if is_secret_field(&name) { REDACTED } else { &value });
    }
    out.finish()
}

/// Any body as a log line shows it: JSON redacted field by field, a form likewise, and other
/// text (SAML metadata) only by its size, since nothing can tell its secrets apart.
pub fn body(bytes: &[u8]) -> String {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return "(empty)".into();
    }
    if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
        return cut(json(&value).to_string());
    }
    match std::str::from_utf8(bytes) {
        Ok(text) if looks_like_form(text) => cut(form(text)),
        _ => format!("({} bytes, not JSON)", bytes.len()),
    }
}

/// `name=value&name=value` with nothing but URL-safe characters around the `=` signs.
fn looks_like_form(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty()
        && text.split('&').all(|pair| {
            pair.split_once('=')
                .is_some_and(|(name, _)| !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b)))
                && !pair.bytes().any(|b| b.is_ascii_whitespace() || b == b'<')
        })
}

fn cut(mut text: String) -> String {
    if text.len() > MAX_LOGGED {
        let mut end = MAX_LOGGED;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let total = text.len();
        text.truncate(end);
        text.push_str(&format!("… ({total} bytes in all)"));
    }
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_secrets_are_replaced_at_any_depth() {
        let body = json!({
            "access_token": "eyJ.header.sig",
            "refresh_token": "opaque-refresh",
            "expires_in": 3600,
            "users": [{"emails": [{"value": "ada@example.edu"}], "password": "Hunter2!x"}],
            "change": {"newPassword": "N3w-pass", "uuid": "u-1"},
            "idp": {"secrets": {"certificates": ["MIIC"]}},
        });
        let shown = json(&body).to_string();
        for secret in ["eyJ.header.sig", "opaque-refresh", "Hunter2!x", "N3w-pass", "MIIC"] {
            assert!(!shown.contains(secret), "{secret} shown in {shown}");
        }
        // What is not a secret stays, so the log still helps.
        for kept in ["ada@example.edu", "3600", "u-1", "\"users\"", "\"newPassword\":\"[redacted]\""] {
            assert!(shown.contains(kept), "{kept} missing from {shown}");
        }
    }

    #[test]
    fn field_names_match_whatever_their_case_and_separators() {
        for name in ["apikey", "apiKey", "api_key", "API-KEY", "Access_Token", "newPassword", "client_secret"] {
            assert!(is_secret_field(name), "{name}");
        }
        for name in ["email", "password_set_at", "token_type", "expires_in", "id"] {
            assert!(!is_secret_field(name), "{name}");
        }
    }

    #[test]
    fn form_secrets_are_replaced_and_the_rest_kept() {
        let shown = form("grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey=k3y%2Bwith%2Fsymbols&response_type=cloud_iam");
        assert!(!shown.contains("k3y"), "{shown}");
        assert!(
            shown.contains("apikey=%5Bredacted%5D") && shown.contains("response_type=cloud_iam") && shown.contains("grant_type="),
            "{shown}"
        );
    }

    #[test]
    fn bodies_are_told_apart() {
        assert_eq!(body(b"  "), "(empty)");
        assert_eq!(body(br#"{"password":"p4ss-word"}"#), r#"{"password":"[redacted]"}"#);
        assert_eq!(body(b"apikey=secret-key&grant_type=x"), "apikey=%5Bredacted%5D&grant_type=x");
        // Text that is neither shows only its size: SAML metadata, or a proxy's error page.
        let xml = b"<EntityDescriptor>secret?</EntityDescriptor>";
        assert_eq!(body(xml), format!("({} bytes, not JSON)", xml.len()));
        assert_eq!(body(&[0xff, 0xfe, b'=']), "(3 bytes, not JSON)");
    }

    #[test]
    fn an_error_answer_loses_the_secrets_of_its_request() {
        let request =
            json!({"emails": [{"value": "ada@example.edu"}], "password": "Tab\there \"quoted\"", "nested": {"secrets": ["MIIC-cert"]}});
        let secrets = secret_values(&request);
        assert_eq!(secrets, ["MIIC-cert", "Tab\there \"quoted\""]);
        let answer =
            json!({"errors": [{"message": format!("password {} is too weak; MIIC-cert expired", request["password"].as_str().unwrap())}]});
        let cleaned = String::from_utf8(without(answer.to_string().as_bytes(), &secrets)).unwrap();
        assert_eq!(cleaned, r#"{"errors":[{"message":"password [redacted] is too weak; [redacted] expired"}]}"#);
        assert_eq!(without(b"plain Tab\there", &[]), b"plain Tab\there");
    }

    #[test]
    fn long_bodies_are_cut_on_a_character_boundary() {
        let long = json!({"names": vec!["é"; 3000]});
        let shown = body(long.to_string().as_bytes());
        assert!(shown.len() < MAX_LOGGED + 40 && shown.contains("bytes in all)"), "{}", shown.len());
    }
}
