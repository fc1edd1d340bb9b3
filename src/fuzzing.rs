//! The fuzz targets: each takes arbitrary bytes and feeds them to the provider's real decoding
//! code. Errors are expected answers; a panic (or a failed assertion here) is a finding.
//!
//! The targets are run by the cargo-fuzz crate in `fuzz/` (`make fuzz`) and replayed over the
//! checked-in corpus by `tests/fuzz_corpus.rs` (`make test`); both are outside this crate, which
//! is why this module is public. CONTRIBUTING.md describes the input layout of each target.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::configured::ProviderState;
use crate::framework::{AnyResource, Provider, Type, Value};
use crate::ibmcloud::http::{ApiResponse, RawResponse};
use crate::ibmcloud::{self, Error};
use crate::plugin::convert::{decode, upgrade_raw_state};
use crate::plugin::proto::{DynamicValue, RawState};

/// Every fuzz target by name, as `fuzz/fuzz_targets/<name>.rs` and `fuzz/corpus/<name>/` call it.
/// A fuzz target: arbitrary bytes in, nothing out.
pub type Target = fn(&[u8]);

pub const TARGETS: [(&str, Target); 3] =
    [("protocol_values", protocol_values), ("ibm_responses", ibm_responses), ("emulator_requests", emulator_requests)];

/// Splits the inputs that carry several parts (pages, requests): 0xFF never occurs in UTF-8 text.
pub const PART_SEPARATOR: u8 = 0xFF;

// ----- protocol_values -----

/// The provider's types and every type nested in them, built once.
struct Schemas {
    resources: Vec<Arc<dyn AnyResource<ProviderState>>>,
    /// Each resource's, data source's and list filter's value type, the provider's, then every
    /// type nested in those (blocks, sets, lists, maps, objects).
    types: Vec<Type>,
}

fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let resources = crate::resources::all();
        let mut roots: Vec<Type> = resources.iter().flat_map(|r| [r.value_type().clone(), r.identity_type().clone()]).collect();
        roots.extend(crate::data_sources::all().iter().map(|d| d.value_type().clone()));
        roots.extend(crate::resources::listable().iter().map(|l| l.value_type().clone()));
        roots.push(crate::provider::IbmqrProvider.schema().value_type());
        let mut types = Vec::new();
        for root in &roots {
            collect_types(root, &mut types);
        }
        Schemas { resources, types }
    })
}

/// `ty` first, then the types inside it, each once.
fn collect_types(ty: &Type, into: &mut Vec<Type>) {
    if !into.contains(ty) {
        into.push(ty.clone());
    }
    match ty {
        Type::List(elem) | Type::Set(elem) | Type::Map(elem) => collect_types(elem, into),
        Type::Object(attrs) => attrs.values().for_each(|t| collect_types(t, into)),
        Type::String | Type::Number | Type::Bool => {}
    }
}

/// Terraform's values as they reach the provider.
///
/// Layout: `[mode, selector, version, payload…]`. Mode 0: the payload is a msgpack
/// `DynamicValue` of the selected type; 1: a JSON one; 2: a stored state (raw JSON) of the
/// selected resource written by schema `version` (signed), upgraded as `UpgradeResourceState`
/// does; 3: a stored identity of that version, upgraded as `UpgradeResourceIdentity` does.
/// A decoded value must survive a msgpack round trip unchanged; a decoded resource state goes on
/// to the pure code that reads states (validation, identity, generated configuration).
pub fn protocol_values(data: &[u8]) {
    let [mode, selector, version, payload @ ..] = data else { return };
    let schemas = schemas();
    let resource = &schemas.resources[usize::from(*selector) % schemas.resources.len()];
    let version = i64::from(*version as i8);
    match mode % 4 {
        0 | 1 => {
            let ty = &schemas.types[usize::from(*selector) % schemas.types.len()];
            let dv = if mode % 4 == 0 {
                DynamicValue { msgpack: payload.to_vec(), json: Vec::new() }
            } else {
                DynamicValue { msgpack: Vec::new(), json: payload.to_vec() }
            };
            if let Ok(value) = decode(Some(&dv), ty) {
                assert_msgpack_round_trip(&value, ty);
                if let Some(resource) = schemas.resources.iter().find(|r| r.value_type() == ty) {
                    read_state(resource.as_ref(), &value);
                }
            }
        }
        2 => {
            let raw = RawState { json: payload.to_vec(), ..Default::default() };
            if let Ok(upgraded) = upgrade_raw_state(resource.as_ref(), version, &raw) {
                let value = decode(Some(&upgraded), resource.value_type()).expect("an upgraded state decodes as its type");
                assert_msgpack_round_trip(&value, resource.value_type());
                read_state(resource.as_ref(), &value);
            }
        }
        _ => {
            let Ok(json) = serde_json::from_slice::<Json>(payload) else { return };
            if let Ok(identity) = resource.upgrade_identity(version, &json) {
                assert_msgpack_round_trip(&identity, resource.identity_type());
            }
        }
    }
}

fn assert_msgpack_round_trip(value: &Value, ty: &Type) {
    let encoded = value.to_msgpack(ty);
    let again = Value::from_msgpack(&encoded, ty).expect("an encoded value decodes");
    assert_eq!(&again, value, "msgpack round trip changed the value");
}

/// What the provider computes from a state or configuration without the network.
fn read_state(resource: &dyn AnyResource<ProviderState>, value: &Value) {
    let _ = resource.validate(value);
    let _ = resource.identity(value);
    if value.is_wholly_known() {
        let _ = resource.generate_config(value);
    }
}

// ----- ibm_responses -----

/// A time for parsers that compare with the clock, fixed so that a finding replays.
const FUZZ_NOW_SECS: u64 = 1_750_000_000;

type Parser = fn(&[u8]);

/// Every way the client reads an IBM answer, by the name the seeds use (`ibm_responses/<name>-…`).
pub const IBM_RESPONSE_PARSERS: &[(&str, Parser)] = &[
    ("error_body", error_body),
    ("token", |b| {
        let _ = ibmcloud::auth::token_from_response(b, FUZZ_NOW_SECS as i64);
    }),
    ("jwt_claims", |b| {
        let _ = ibmcloud::auth::decode_claims(&String::from_utf8_lossy(b));
    }),
    ("headers", headers),
    ("access_group", |b| typed::<ibmcloud::access_groups::AccessGroup>(b)),
    ("access_group_pages", |b| pages::<ibmcloud::access_groups::AccessGroup>(b, "groups", ibmcloud::PageStyle::NextHref)),
    ("group_member_pages", |b| pages::<ibmcloud::access_groups::GroupMember>(b, "members", ibmcloud::PageStyle::NextHref)),
    ("member_results", |b| {
        with_body(b, |body| {
            let _ = ibmcloud::access_groups::member_failures(body, &[404]);
        });
    }),
    ("rule", |b| typed::<ibmcloud::access_groups::Rule>(b)),
    ("rules", |b| under::<Vec<ibmcloud::access_groups::Rule>>(b, "rules")),
    ("custom_role", |b| typed::<ibmcloud::CustomRole>(b)),
    ("role_list", |b| typed::<ibmcloud::RoleList>(b)),
    ("policy", |b| typed::<ibmcloud::Policy>(b)),
    ("policy_pages", |b| pages::<ibmcloud::Policy>(b, "policies", ibmcloud::PageStyle::NextStart)),
    ("account_settings", |b| typed::<ibmcloud::AccountSettings>(b)),
    ("account_owner", |b| {
        with_body(b, |body| {
            let _ = ibmcloud::account_management::owner_iam_id(body);
        });
    }),
    ("idp", |b| typed::<ibmcloud::iam_idps::Idp>(b)),
    ("idps", |b| under::<Vec<ibmcloud::iam_idps::Idp>>(b, "idps")),
    ("idp_login_setting", |b| typed::<ibmcloud::iam_idps::IdpLoginSetting>(b)),
    ("idp_limit", |b| under::<ibmcloud::iam_idps::LimitCount>(b, "idps")),
    ("login_alias", |b| {
        with_body(b, |body| {
            let _ = body["alias"].as_str().unwrap_or_default().to_string();
        });
    }),
    ("resource_instance", resource_instance),
    ("resource_instance_pages", |b| pages::<ibmcloud::resource_controller::ResourceInstance>(b, "resources", ibmcloud::PageStyle::NextUrl)),
    ("reclamations", |b| under::<Vec<ibmcloud::resource_controller::Reclamation>>(b, "resources")),
    ("resource_group", resource_group),
    ("resource_group_list", |b| typed::<ibmcloud::resource_manager::GroupList>(b)),
    ("user_profile", |b| typed::<ibmcloud::user_management::UserProfile>(b)),
    ("user_profile_pages", |b| pages::<ibmcloud::user_management::UserProfile>(b, "resources", ibmcloud::PageStyle::NextUrl)),
    ("tag_pages", |b| pages::<Json>(b, "items", ibmcloud::PageStyle::OffsetTotal)),
    ("tag_results", |b| {
        with_body(b, |body| {
            let _ = ibmcloud::tagging::item_errors("attaching tags", body);
        });
    }),
    ("catalog_pages", catalog_pages),
    ("cloud_directory_user", |b| typed::<ibmcloud::appid::CloudDirectoryUser>(b)),
    ("cloud_directory_users", cloud_directory_users),
    ("user_info", |b| typed::<ibmcloud::appid::UserInfo>(b)),
    ("profile_attributes", |b| {
        with_body(b, |body| {
            let _ = body["attributes"].as_object().cloned().unwrap_or_default();
        });
    }),
    ("logged_body", logged_body),
];

/// Any body as the trace log shows it, and an error answer cleaned of a request's secrets: a
/// redacted body must never hold a value of a secret field it was given.
fn logged_body(body: &[u8]) {
    let shown = ibmcloud::redact::body(body);
    let Ok(json) = serde_json::from_slice::<Json>(body) else { return };
    let redacted = ibmcloud::redact::json(&json).to_string();
    for secret in ibmcloud::redact::secret_values(&json) {
        // A secret that is also a value outside the secret fields may show there; only long
        // secrets found nowhere else are telling.
        if secret.len() >= 12 && !redacted.contains(&secret) {
            assert!(!shown.contains(&secret), "a logged body shows the secret {secret:?}: {shown}");
        }
    }
    let _ = ibmcloud::redact::without(body, &ibmcloud::redact::secret_values(&json));
}

/// IBM's answers as the client reads them.
///
/// Layout: `[parser, answer…]`; the parser is an index into [`IBM_RESPONSE_PARSERS`] and the
/// answer its input: a response body, several pages separated by [`PART_SEPARATOR`], an error
/// body after a two-byte big-endian status, or header values (see each parser).
pub fn ibm_responses(data: &[u8]) {
    let [selector, answer @ ..] = data else { return };
    let (_, parse) = IBM_RESPONSE_PARSERS[usize::from(*selector) % IBM_RESPONSE_PARSERS.len()];
    parse(answer);
}

/// A 2xx answer with `body`, read the way every call reads it.
fn response(body: &[u8]) -> Option<ApiResponse> {
    ApiResponse::from_raw("GET /fuzz", RawResponse { status: 200, headers: Default::default(), body: body.to_vec() }).ok()
}

fn with_body(body: &[u8], read: impl FnOnce(&Json)) {
    if let Some(resp) = response(body) {
        read(&resp.body);
    }
}

/// The body as one object, as `send().await?.json()` reads it (with its ETag).
fn typed<T: DeserializeOwned>(body: &[u8]) {
    if let Some(resp) = response(body) {
        let _ = resp.json::<T>();
    }
}

/// The part of the body under `key`, as list and limit calls read it.
fn under<T: DeserializeOwned>(body: &[u8], key: &str) {
    with_body(body, |body| {
        let _ = serde_json::from_value::<T>(body[key].clone());
    });
}

/// Pages of a list call as `collect_pages` follows them, then the items as their type.
fn pages<T: DeserializeOwned>(answer: &[u8], items_key: &str, style: ibmcloud::PageStyle) {
    let mut pager = ibmcloud::pagination::Pager::new("/fuzz", &[("limit", "100")], items_key, style);
    let mut all = Vec::new();
    for page in answer.split(|b| *b == PART_SEPARATOR) {
        let Some(resp) = response(page) else { return };
        match pager.take_page(&resp.body, &mut all) {
            Ok(true) => {}
            Ok(false) => break,
            Err(_) => return,
        }
    }
    for item in all {
        let _ = serde_json::from_value::<T>(item);
    }
}

fn catalog_pages(answer: &[u8]) {
    let mut pager = ibmcloud::global_catalog::CatalogPager::default();
    let mut all = Vec::new();
    for page in answer.split(|b| *b == PART_SEPARATOR) {
        let Some(resp) = response(page) else { return };
        match pager.take_page("/fuzz", &resp.body, &mut all) {
            Ok(true) => {}
            Ok(false) => break,
            Err(_) => return,
        }
    }
    for item in all {
        let _ = serde_json::from_value::<ibmcloud::global_catalog::CatalogPlan>(item);
    }
}

/// An error answer: `[status (2 bytes, big-endian), body…]`, then what callers read from it.
fn error_body(answer: &[u8]) {
    let [high, low, body @ ..] = answer else { return };
    let error = Error::Api(ibmcloud::ApiError::from_body(u16::from_be_bytes([*high, *low]), body));
    let _ = (error.to_string(), error.is_not_found(), error.api_code());
    let _ = ibmcloud::role_conflict(&error);
    let _ = ibmcloud::policy_conflict(&error);
    let _ = ibmcloud::create::is_already_exists(&error);
}

/// `[ETag value, PART_SEPARATOR, Retry-After value]`, as header values (visible ASCII).
fn headers(answer: &[u8]) {
    let mut parts = answer.splitn(2, |b| *b == PART_SEPARATOR);
    let (etag, retry_after) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let mut headers = http::HeaderMap::new();
    if let Ok(value) = http::HeaderValue::from_bytes(etag) {
        headers.insert(http::header::ETAG, value);
    }
    if let Ok(value) = http::HeaderValue::from_bytes(retry_after) {
        headers.insert(http::header::RETRY_AFTER, value);
    }
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(FUZZ_NOW_SECS);
    let delay = headers.get(http::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| ibmcloud::retry_after_delay(v, now));
    let _ = delay.map(|d| d.as_millis());
    let _ = ApiResponse::from_raw("GET /fuzz", RawResponse { status: 200, headers, body: Vec::new() });
}

fn resource_instance(body: &[u8]) {
    let Some(resp) = response(body) else { return };
    if let Ok(instance) = resp.json::<ibmcloud::resource_controller::ResourceInstance>() {
        let _ = instance.is_deleted();
        let _ = ibmcloud::appid::Tenant::from_crn(&instance.crn);
    }
}

fn resource_group(body: &[u8]) {
    let Some(resp) = response(body) else { return };
    if let Ok(group) = resp.json::<ibmcloud::resource_manager::ResourceGroup>() {
        let _ = group.is_deleted();
    }
}

/// A SCIM page of Cloud Directory users, as `list_cloud_directory_users` reads it.
fn cloud_directory_users(body: &[u8]) {
    with_body(body, |body| {
        let users = serde_json::from_value::<Vec<ibmcloud::appid::CloudDirectoryUser>>(body["Resources"].clone());
        let _ = body["totalResults"].as_u64().and_then(|t| usize::try_from(t).ok());
        for user in users.iter().flatten() {
            let _ = user.primary_email();
        }
    });
}

// ----- emulator_requests -----

/// The emulator's routes that read a body: method, path (ids as `{placeholders}`, see
/// [`Ids::fill`]) and the id an answer's `id` names, if it creates something.
pub const EMULATOR_ROUTES: &[(&str, &str, Option<&str>)] = &[
    ("POST", "/identity/token", None),
    ("POST", "/v2/groups?account_id={account}", Some("group")),
    ("PATCH", "/v2/groups/{group}", None),
    ("PUT", "/v2/groups/{group}/members", None),
    ("POST", "/v2/groups/{group}/members/delete", None),
    ("POST", "/v2/groups/{group}/rules", Some("rule")),
    ("PUT", "/v2/groups/{group}/rules/{rule}", None),
    ("POST", "/v2/roles", Some("role")),
    ("PUT", "/v2/roles/{role}", None),
    ("POST", "/v1/policies", Some("policy")),
    ("PUT", "/v1/policies/{policy}", None),
    ("POST", "/v2/resource_groups", Some("resource_group")),
    ("PATCH", "/v2/resource_groups/{resource_group}", None),
    ("POST", "/v2/resource_instances", Some("instance")),
    ("PATCH", "/v2/resource_instances/{instance}", None),
    ("POST", "/v1/reclamations/{reclamation}/actions/reclaim", None),
    ("POST", "/v1/reclamations/{reclamation}/actions/restore", None),
    ("POST", "/v3/tags/attach?tag_type=user", None),
    ("POST", "/v3/tags/detach?tag_type=user", None),
    ("PUT", "/v1/accounts/{account}/settings/identity", None),
    ("POST", "/v1/idps/", Some("idp")),
    ("PUT", "/v1/idps/{idp}", None),
    ("PUT", "/v1/idps/{idp}/saml/metadata", None),
    ("PUT", "/v2/loginsettings/{account}", None),
    ("POST", "/v2/loginsettings/{account}/idps/{idp}", None),
    ("PUT", "/v2/loginsettings/{account}/idps/{idp}", None),
    ("POST", "/v2/accounts/{account}/users", None),
    ("PUT", "/management/v4/{tenant}/config/idps/cloud_directory", None),
    ("PUT", "/management/v4/{tenant}/config/tokens", None),
    ("POST", "/management/v4/{tenant}/cloud_directory/sign_up?shouldCreateProfile=true", Some("appid_user")),
    ("PUT", "/management/v4/{tenant}/cloud_directory/Users/{appid_user}", None),
    ("POST", "/management/v4/{tenant}/cloud_directory/change_password", None),
    ("PUT", "/management/v4/{tenant}/users/{profile}/profile", None),
    ("POST", "/_emulator/login", None),
    ("POST", "/_emulator/faults", None),
    ("PUT", "/_emulator/chaos", None),
    ("PUT", "/_emulator/lag", None),
    ("PUT", "/_emulator/traffic", None),
    ("PUT", "/_emulator/objects/{kind}/{object}", None),
    ("PATCH", "/_emulator/objects/{kind}/{object}", None),
];

/// Requests to a fresh in-process emulator, as a client would send them.
///
/// Layout: up to 8 requests separated by [`PART_SEPARATOR`], each `[route, body…]` with the
/// route an index into [`EMULATOR_ROUTES`]. Every request but the token one carries a bearer
/// token; ids in paths are those the earlier requests created (or fixed ones). A 4xx answer is a
/// refused body; a 5xx answer is a finding (no faults are configured, so only a bug answers
/// 5xx), and so is a panic: the router has no panic-catching layer, so one reaches the fuzzer.
pub fn emulator_requests(data: &[u8]) {
    use tower::ServiceExt;

    thread_local! {
        static RUNTIME: tokio::runtime::Runtime =
            tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a current-thread runtime");
    }
    let settings = crate::emulator::state::Settings {
        base_url: "http://127.0.0.1:1".into(),
        account_id: crate::emulator::DEFAULT_ACCOUNT_ID.into(),
        api_keys: Vec::new(),
        token_lifetime_secs: crate::emulator::DEFAULT_TOKEN_LIFETIME_SECS,
        state_file: None,
        reclaim_ms: 0,
    };
    let state = crate::emulator::AppState::new(settings, 0).expect("an emulator state without a file");
    let router = crate::emulator::router(state);
    RUNTIME.with(|runtime| {
        runtime.block_on(async {
            let send = |method: &str, uri: &str, bearer: Option<&str>, if_match: Option<&str>, body: Vec<u8>| {
                let mut request = http::Request::builder().method(method).uri(uri);
                if let Some(token) = bearer {
                    request = request.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
                }
                if let Some(etag) = if_match {
                    request = request.header(http::header::IF_MATCH, etag);
                }
                let content_type = if uri.starts_with("/identity/") { "application/x-www-form-urlencoded" } else { "application/json" };
                let request = request.header(http::header::CONTENT_TYPE, content_type).body(axum::body::Body::from(body));
                let (router, uri) = (router.clone(), uri.to_string());
                async move {
                    let response =
                        router.oneshot(request.expect("a request from a route of the table")).await.expect("the router never fails");
                    let status = response.status();
                    let etag = response.headers().get(http::header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_string);
                    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("an in-memory body");
                    assert!(status.as_u16() < 500, "{uri} answered {status}: {}", String::from_utf8_lossy(&body));
                    (status, etag, body)
                }
            };
            let form = "grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey=fuzz-key";
            let (_, _, token) = send("POST", "/identity/token", None, None, form.into()).await;
            let token: Json = serde_json::from_slice(&token).expect("a token answer");
            let token = token["access_token"].as_str().expect("an access token").to_string();
            let mut ids = Ids::default();
            for part in data.split(|b| *b == PART_SEPARATOR).take(8) {
                let [route, body @ ..] = part else { continue };
                let (method, path, creates) = EMULATOR_ROUTES[usize::from(*route) % EMULATOR_ROUTES.len()];
                let bearer = (!path.starts_with("/identity/")).then_some(token.as_str());
                let body = match std::str::from_utf8(body) {
                    Ok(text) => ids.fill(text, false).into_bytes(),
                    Err(_) => body.to_vec(),
                };
                let if_match = matches!(method, "PUT" | "PATCH").then(|| ids.etag.as_deref().unwrap_or("*"));
                let (status, etag, answer) = send(method, &ids.fill(path, true), bearer, if_match, body).await;
                ids.etag = etag.or(ids.etag.take());
                if let (Some(slot), true) = (creates, status.is_success()) {
                    ids.record(slot, &answer);
                }
            }
        });
    });
}

/// The ids earlier requests of one input created, by placeholder, and the last ETag answered
/// (sent back as `If-Match` on updates, `*` before there is one).
#[derive(Default)]
struct Ids {
    created: std::collections::HashMap<&'static str, String>,
    etag: Option<String>,
}

impl Ids {
    fn record(&mut self, slot: &'static str, answer: &[u8]) {
        let Ok(json) = serde_json::from_slice::<Json>(answer) else { return };
        let id = json.get("id").or_else(|| json.get("idp_id")).and_then(Json::as_str);
        if let Some(id) = id {
            self.created.insert(slot, id.to_string());
        }
        // An App ID instance's GUID names its tenant.
        if let Some(guid) = json.get("guid").and_then(Json::as_str) {
            self.created.insert("tenant", guid.to_string());
        }
    }

    /// `text` (a path, or a body) with each placeholder replaced by the id recorded for it, or a
    /// fixed one; encoded as a path segment in a path.
    fn fill(&self, text: &str, in_path: bool) -> String {
        let fixed = [
            ("account", crate::emulator::DEFAULT_ACCOUNT_ID),
            ("group", "AccessGroupId-fuzz"),
            ("rule", "ClaimRule-fuzz"),
            ("role", "fuzz-role"),
            ("policy", "fuzz-policy"),
            ("resource_group", "fuzz-group"),
            ("instance", "fuzz-instance"),
            ("reclamation", "fuzz-reclamation"),
            ("idp", "fuzz-idp"),
            ("tenant", "fuzz-tenant"),
            ("appid_user", "fuzz-user"),
            ("profile", "fuzz-profile"),
            ("kind", "access_groups"),
            ("object", "AccessGroupId-fuzz"),
        ];
        let mut filled = text.to_string();
        for (slot, default) in fixed {
            let id = self.created.get(slot).map_or(default, String::as_str);
            let id = if in_path { ibmcloud::path_segment(id) } else { id.to_string() };
            filled = filled.replace(&format!("{{{slot}}}"), &id);
        }
        filled
    }
}

// ----- seeds -----

/// The hand-written seed inputs of each target, as `(target, file name, bytes)`: written to
/// `fuzz/corpus/<target>/seed-<name>` by the ignored test `write_seeds` in tests/fuzz_corpus.rs.
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut seeds = Vec::new();
    protocol_value_seeds(&mut seeds);
    ibm_response_seeds(&mut seeds);
    emulator_request_seeds(&mut seeds);
    seeds
}

/// A value of `ty` with every part present; `unknown_every` > 0 makes every n-th attribute unknown
/// and the one after it null, as in a plan.
fn sample(ty: &Type, unknown_every: usize, counter: &mut usize) -> Value {
    match ty {
        Type::String => Value::string(format!("s{counter}")),
        Type::Number => Value::Number((*counter as u64).into()),
        Type::Bool => Value::Bool(counter.is_multiple_of(2)),
        Type::List(elem) => Value::List(vec![sample(elem, unknown_every, counter)]),
        Type::Set(elem) => Value::Set(vec![sample(elem, unknown_every, counter)]),
        Type::Map(elem) => Value::Map([("key".to_string(), sample(elem, unknown_every, counter))].into()),
        Type::Object(attrs) => Value::Object(
            attrs
                .iter()
                .map(|(name, t)| {
                    *counter += 1;
                    let value = match unknown_every {
                        0 => sample(t, 0, counter),
                        n if counter.is_multiple_of(n) => Value::Unknown,
                        n if *counter % n == 1 => Value::Null,
                        _ => sample(t, unknown_every, counter),
                    };
                    (name.clone(), value)
                })
                .collect(),
        ),
    }
}

fn protocol_value_seeds(seeds: &mut Vec<(&'static str, String, Vec<u8>)>) {
    let schemas = schemas();
    let selector = |index: usize| u8::try_from(index).expect("fewer than 256 types and resources");
    for (index, resource) in schemas.resources.iter().enumerate() {
        let name = resource.type_name();
        let type_index = schemas.types.iter().position(|t| t == resource.value_type()).expect("every resource type is listed");
        let mut counter = 0;
        let known = sample(resource.value_type(), 0, &mut counter);
        let planned = sample(resource.value_type(), 3, &mut counter);
        let with = |mode: u8, selector: u8, payload: Vec<u8>| [vec![mode, selector, 0], payload].concat();
        seeds.push(("protocol_values", format!("msgpack-{name}"), with(0, selector(type_index), known.to_msgpack(resource.value_type()))));
        seeds.push((
            "protocol_values",
            format!("msgpack-unknowns-{name}"),
            with(0, selector(type_index), planned.to_msgpack(resource.value_type())),
        ));
        seeds.push(("protocol_values", format!("json-{name}"), with(1, selector(type_index), known.to_json().to_string().into_bytes())));
        let mut stored = known.to_json();
        // A state of an older schema: an attribute since removed.
        stored["removed_attribute"] = Json::String("old".into());
        seeds.push(("protocol_values", format!("raw-state-{name}"), with(2, selector(index), stored.to_string().into_bytes())));
        let mut older = with(2, selector(index), stored.to_string().into_bytes());
        older[2] = (-1i8) as u8;
        seeds.push(("protocol_values", format!("raw-state-older-{name}"), older));
        let identity = sample(resource.identity_type(), 0, &mut counter);
        seeds.push(("protocol_values", format!("identity-{name}"), with(3, selector(index), identity.to_json().to_string().into_bytes())));
    }
    let string_type = schemas.types.iter().position(|t| *t == Type::String).map_or(0, selector);
    // Terraform ≥ 1.6 sends refined unknowns as extension 12.
    seeds.push(("protocol_values", "msgpack-refined-unknown".into(), vec![0, string_type, 0, 0xc7, 0x01, 0x0c, 0x80]));
    seeds.push(("protocol_values", "msgpack-unknown".into(), vec![0, string_type, 0, 0xd4, 0x00, 0x00]));
    seeds.push(("protocol_values", "msgpack-null".into(), vec![0, string_type, 0, 0xc0]));
}

fn ibm_response_seeds(seeds: &mut Vec<(&'static str, String, Vec<u8>)>) {
    let group = r#"{"id":"AccessGroupId-1f0e","name":"qiskit-users","description":"Users of Qiskit Runtime","account_id":"a1b2","created_at":"2024-05-01T12:00:00.123Z","href":"https://iam.cloud.ibm.com/v2/groups/AccessGroupId-1f0e","is_federated":false,"crn":"crn:v1:bluemix:public:iam-groups::a/a1b2::access-group:AccessGroupId-1f0e"}"#;
    let rule = r#"{"id":"ClaimRule-9a","name":"from-idp","expiration":12,"realm_name":"https://idp.example/realm","conditions":[{"claim":"groups","operator":"CONTAINS","value":"\"qiskit\""}],"access_group_id":"AccessGroupId-1f0e","account_id":"a1b2"}"#;
    let role = r#"{"id":"3f2a","name":"QiskitJobRunner","display_name":"Qiskit job runner","description":"Runs jobs","actions":["quantum-computing.job.read","quantum-computing.job.create"],"crn":"crn:v1:bluemix:public:iam-access-management::a/a1b2::customRole:QiskitJobRunner","account_id":"a1b2","service_name":"quantum-computing","href":"https://iam.cloud.ibm.com/v2/roles/3f2a","created_at":"2024-05-01T12:00:00.123Z","created_by_id":"IBMid-1","last_modified_at":"2024-05-01T12:00:00.123Z","last_modified_by_id":"IBMid-1"}"#;
    let policy = r#"{"id":"pol-1","type":"access","description":"runners","subjects":[{"attributes":[{"name":"access_group_id","value":"AccessGroupId-1f0e"}]}],"roles":[{"role_id":"crn:v1:bluemix:public:iam::::serviceRole:Reader","display_name":"Reader"}],"resources":[{"attributes":[{"name":"accountId","value":"a1b2"},{"name":"serviceName","value":"quantum-computing","operator":"stringEquals"}]}],"href":"https://iam.cloud.ibm.com/v1/policies/pol-1","created_at":"2024-05-01T12:00:00.123Z","last_modified_at":"2024-05-01T12:00:00.123Z"}"#;
    let idp = r#"{"idp_id":"IdP-7c","entity_tag":"1-abc","account_id":"a1b2","name":"corp","type":"saml","active":true,"properties":{"realm_id":"https://idp.example/realm","sso_url":"https://idp.example/sso"}}"#;
    let instance = r#"{"id":"crn:v1:bluemix:public:appid:us-south:a/a1b2:5e1d::","guid":"5e1d","crn":"crn:v1:bluemix:public:appid:us-south:a/a1b2:5e1d::","name":"login","region_id":"us-south","account_id":"a1b2","resource_group_id":"rg-1","resource_plan_id":"plan-1","resource_id":"appid","state":"active","type":"service_instance","parameters":{},"last_operation":{"type":"create","state":"succeeded","async":false,"description":"done"},"tags":["env:dev"]}"#;
    let resource_group = r#"{"id":"rg-1","name":"Default","account_id":"a1b2","state":"ACTIVE","default":true,"crn":"crn:v1:bluemix:public:resource-controller::a/a1b2::resource-group:rg-1","created_at":"2024-05-01T12:00:00.123Z"}"#;
    let user = r#"{"id":"u-1","iam_id":"IBMid-270000ABCD","realm":"IBMid","user_id":"ada@example.com","firstname":"Ada","lastname":"Lovelace","state":"ACTIVE","email":"ada@example.com","account_id":"a1b2","invitedOn":"2024-05-01T12:00:00Z"}"#;
    let cd_user = r#"{"id":"cd-1","userName":"ada","displayName":"Ada","active":true,"status":"CONFIRMED","emails":[{"value":"ada@example.com","primary":true}],"name":{"givenName":"Ada","familyName":"Lovelace"}}"#;
    let jwt_payload =
        "eyJpYW1faWQiOiJJQk1pZC0yNzAwMDBBQkNEIiwiaWQiOiJJQk1pZC0yNzAwMDBBQkNEIiwiYWNjb3VudCI6eyJic3MiOiJhMWIyIn0sImV4cCI6MTc1MDAwMzYwMH0";
    let jwt = format!("eyJhbGciOiJSUzI1NiJ9.{jwt_payload}.c2ln");
    let bodies: Vec<(&str, String)> = vec![
        ("token", format!(r#"{{"access_token":"{jwt}","refresh_token":"not_supported","token_type":"Bearer","expires_in":3600,"expiration":1750003600,"scope":"ibm openid"}}"#)),
        ("jwt_claims", jwt.clone()),
        ("access_group", group.into()),
        ("access_group_pages", format!(r#"{{"limit":1,"offset":0,"total_count":2,"first":{{"href":"https://iam.cloud.ibm.com/v2/groups?limit=1"}},"next":{{"href":"https://iam.cloud.ibm.com/v2/groups?account_id=a1b2&limit=1&offset=1"}},"groups":[{group}]}}"#)),
        ("group_member_pages", r#"{"limit":100,"offset":0,"total_count":1,"members":[{"iam_id":"IBMid-270000ABCD","type":"user","name":"Ada","email":"ada@example.com","created_at":"2024-05-01T12:00:00Z"}]}"#.into()),
        ("member_results", r#"{"members":[{"iam_id":"IBMid-1","type":"user","status_code":200},{"iam_id":"IBMid-2","status_code":404,"errors":[{"code":"user_not_found","message":"User not found"}]}]}"#.into()),
        ("rule", rule.into()),
        ("rules", format!(r#"{{"rules":[{rule}]}}"#)),
        ("custom_role", role.into()),
        ("role_list", format!(r#"{{"custom_roles":[{role}],"service_roles":[{{"display_name":"Reader","description":"reads","actions":["quantum-computing.job.read"],"crn":"crn:v1:bluemix:public:iam::::serviceRole:Reader"}}],"system_roles":[]}}"#)),
        ("policy", policy.into()),
        ("policy_pages", format!(r#"{{"policies":[{policy}],"next":{{"start":"tok-2"}}}}"#)),
        ("account_settings", r#"{"account_id":"a1b2","entity_tag":"3-x","restrict_create_service_id":"NOT_SET","restrict_create_platform_apikey":"NOT_SET","mfa":"NONE","session_expiration_in_seconds":"86400","session_invalidation_in_seconds":"7200","max_sessions_per_identity":"NOT_SET","system_access_token_expiration_in_seconds":"3600","system_refresh_token_expiration_in_seconds":"259200","allowed_ip_addresses":"","user_mfa":[],"restrict_user_domains":{"account_sufficient":true,"restrictions":[{"realm_id":"IBMid","invitation_email_allow_patterns":["*.example.com"],"restrict_invitation":true}]},"history":[]}"#.into()),
        ("account_owner", r#"{"metadata":{"guid":"a1b2"},"entity":{"name":"lab","owner_iam_id":"IBMid-270000ABCD","state":"ACTIVE"}}"#.into()),
        ("idp", idp.into()),
        ("idps", format!(r#"{{"idps":[{idp}]}}"#)),
        ("idp_login_setting", r#"{"idp_id":"IdP-7c","enabled":true,"onboarding_strategy":"ALWAYS","default_group_ids":["AccessGroupId-1f0e"]}"#.into()),
        ("idp_limit", r#"{"idps":{"limit":5,"count":1}}"#.into()),
        ("login_alias", r#"{"alias":"lab","idps":[]}"#.into()),
        ("resource_instance", instance.into()),
        ("resource_instance_pages", format!(r#"{{"rows_count":1,"next_url":"/v2/resource_instances?limit=1&start=g2","resources":[{instance}]}}"#)),
        ("reclamations", r#"{"resources":[{"id":"rec-1","resource_instance_id":"5e1d","state":"SCHEDULED","account_id":"a1b2","resource_group_id":"rg-1"}]}"#.into()),
        ("resource_group", resource_group.into()),
        ("resource_group_list", format!(r#"{{"resources":[{resource_group}]}}"#)),
        ("user_profile", user.into()),
        ("user_profile_pages", format!(r#"{{"total_results":1,"limit":100,"next_url":null,"resources":[{user}]}}"#)),
        ("tag_pages", r#"{"total_count":3,"offset":0,"limit":2,"items":[{"name":"env:dev"},{"name":"team:qc"}]}"#.into()),
        ("tag_results", r#"{"results":[{"resource_id":"crn:x","is_error":true,"message":"resource not found"}]}"#.into()),
        ("catalog_pages", r#"{"offset":0,"limit":200,"count":2,"resource_count":2,"next":"https://globalcatalog.cloud.ibm.com/api/v1/s/plan?_offset=1&_limit=1","resources":[{"id":"plan-1","name":"lite","kind":"plan","active":true,"disabled":false}]}"#.into()),
        ("cloud_directory_user", cd_user.into()),
        ("cloud_directory_users", format!(r#"{{"totalResults":1,"itemsPerPage":1,"Resources":[{cd_user}]}}"#)),
        ("user_info", r#"{"sub":"profile-1","attributes":{"team":"qc"}}"#.into()),
        ("profile_attributes", r#"{"id":"profile-1","attributes":{"team":"qc","level":3}}"#.into()),
        ("logged_body", r#"{"access_token":"eyJhbGciOi.eyJpYW1faWQiOi.c2lnbmF0dXJl","refresh_token":"opaque-refresh-token-1","expires_in":3600,"users":[{"password":"Sign-up-Passw0rd-Aa1"}],"secrets":{"certificates":["MIIC"]}}"#.into()),
    ];
    let index = |name: &str| IBM_RESPONSE_PARSERS.iter().position(|(n, _)| *n == name).expect("a parser of that name") as u8;
    for (name, body) in bodies {
        seeds.push(("ibm_responses", name.to_string(), [vec![index(name)], body.into_bytes()].concat()));
    }
    let error_bodies = [
        (
            409,
            r#"{"errors":[{"code":"role_conflict_error","message":"A role with the same name exists","details":{"conflicts_with":{"etag":"1-x","role":{"id":"3f2a","name":"QiskitJobRunner","display_name":"Qiskit job runner","actions":[],"crn":"crn:x","account_id":"a1b2","service_name":"quantum-computing"}}}}],"trace":"t-1","status_code":409}"#,
        ),
        (400, r#"{"errorCode":"BXNIM0415E","errorMessage":"Provided API key could not be found","context":{"requestId":"r-1"}}"#),
        (400, r#"{"error_code":"RC-BadRequest","message":"bad plan","transaction_id":"tx-1","details":{}}"#),
        (502, "<html><body>Bad Gateway</body></html>"),
    ];
    for (n, (status, body)) in error_bodies.iter().enumerate() {
        let status: u16 = *status;
        seeds.push((
            "ibm_responses",
            format!("error_body-{n}"),
            [vec![index("error_body")], status.to_be_bytes().to_vec(), body.as_bytes().to_vec()].concat(),
        ));
    }
    for (n, (etag, retry_after)) in [("\"2-abc\"", "7"), ("W/\"3\"", "Sun, 15 Jun 2025 15:06:40 GMT")].iter().enumerate() {
        let bytes = [vec![index("headers")], etag.as_bytes().to_vec(), vec![PART_SEPARATOR], retry_after.as_bytes().to_vec()].concat();
        seeds.push(("ibm_responses", format!("headers-{n}"), bytes));
    }
    for (name, page_key) in [("access_group_pages", "groups"), ("catalog_pages", "resources"), ("tag_pages", "items")] {
        let first = seeds.iter().find(|(t, n, _)| *t == "ibm_responses" && n == name).map(|(_, _, b)| b.clone()).expect("the first page");
        let mut two = first;
        two.push(PART_SEPARATOR);
        two.extend(format!(r#"{{"{page_key}":[{{"id":"2","name":"two"}}]}}"#).bytes());
        seeds.push(("ibm_responses", format!("{name}-two"), two));
    }
}

fn emulator_request_seeds(seeds: &mut Vec<(&'static str, String, Vec<u8>)>) {
    let route = |method: &str, path: &str| {
        EMULATOR_ROUTES.iter().position(|(m, p, _)| *m == method && *p == path).expect("a route of the table") as u8
    };
    // Each seed: a name and its requests (method, path, body).
    type Requests = Vec<(&'static str, &'static str, &'static str)>;
    let sequences: Vec<(&str, Requests)> = vec![
        (
            "token",
            vec![(
                "POST",
                "/identity/token",
                "grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey=k&response_type=cloud_iam",
            )],
        ),
        (
            "access-group",
            vec![
                ("POST", "/v2/groups?account_id={account}", r#"{"name":"qiskit-users","description":"Users"}"#),
                ("PATCH", "/v2/groups/{group}", r#"{"name":"qiskit-users-2","description":"Renamed"}"#),
                (
                    "PUT",
                    "/v2/groups/{group}/members",
                    r#"{"members":[{"iam_id":"IBMid-270000ABCD","type":"user"},{"iam_id":"iam-ServiceId-1","type":"service"}]}"#,
                ),
                ("POST", "/v2/groups/{group}/members/delete", r#"{"members":["IBMid-270000ABCD"]}"#),
            ],
        ),
        (
            "rule",
            vec![
                ("POST", "/v2/groups?account_id={account}", r#"{"name":"ruled"}"#),
                (
                    "POST",
                    "/v2/groups/{group}/rules",
                    r#"{"name":"from-idp","expiration":12,"realm_name":"https://idp.example/realm","conditions":[{"claim":"groups","operator":"CONTAINS","value":"\"qiskit\""}]}"#,
                ),
                (
                    "PUT",
                    "/v2/groups/{group}/rules/{rule}",
                    r#"{"name":"from-idp","expiration":24,"realm_name":"https://idp.example/realm","conditions":[{"claim":"groups","operator":"EQUALS","value":"qc"}]}"#,
                ),
            ],
        ),
        (
            "role",
            vec![
                (
                    "POST",
                    "/v2/roles",
                    r#"{"name":"QiskitJobRunner","display_name":"Qiskit job runner","description":"Runs jobs","actions":["quantum-computing.job.read"],"account_id":"a1b2c3d4e5f60718293a4b5c6d7e8f90","service_name":"quantum-computing"}"#,
                ),
                (
                    "PUT",
                    "/v2/roles/{role}",
                    r#"{"display_name":"Renamed","actions":["quantum-computing.job.read","quantum-computing.job.create"]}"#,
                ),
            ],
        ),
        (
            "policy",
            vec![
                (
                    "POST",
                    "/v1/policies",
                    r#"{"type":"access","subjects":[{"attributes":[{"name":"access_group_id","value":"AccessGroupId-fuzz"}]}],"roles":[{"role_id":"crn:v1:bluemix:public:iam::::serviceRole:Reader"}],"resources":[{"attributes":[{"name":"accountId","value":"a1b2c3d4e5f60718293a4b5c6d7e8f90"},{"name":"serviceName","value":"quantum-computing"}]}]}"#,
                ),
                (
                    "PUT",
                    "/v1/policies/{policy}",
                    r#"{"type":"access","subjects":[{"attributes":[{"name":"access_group_id","value":"AccessGroupId-fuzz"}]}],"roles":[{"role_id":"crn:v1:bluemix:public:iam::::serviceRole:Writer"}],"resources":[{"attributes":[{"name":"accountId","value":"a1b2c3d4e5f60718293a4b5c6d7e8f90"},{"name":"serviceName","value":"quantum-computing"}]}]}"#,
                ),
            ],
        ),
        (
            "resource-group",
            vec![
                ("POST", "/v2/resource_groups", r#"{"name":"quantum","account_id":"a1b2c3d4e5f60718293a4b5c6d7e8f90"}"#),
                ("PATCH", "/v2/resource_groups/{resource_group}", r#"{"name":"quantum-2"}"#),
            ],
        ),
        (
            "instance",
            vec![
                ("POST", "/v2/resource_groups", r#"{"name":"apps","account_id":"{account}"}"#),
                (
                    "POST",
                    "/v2/resource_instances",
                    r#"{"name":"login","target":"us-south","resource_group":"{resource_group}","resource_plan_id":"appid-graduated-tier-3f0b7d51-6c2a-4e5f-9b1d-2c7e8a4f6b02","tags":["env:dev"],"parameters":{}}"#,
                ),
                ("PATCH", "/v2/resource_instances/{instance}", r#"{"name":"login-2","parameters":{}}"#),
                (
                    "PUT",
                    "/management/v4/{tenant}/config/idps/cloud_directory",
                    r#"{"isActive":true,"config":{"selfServiceEnabled":false,"signupEnabled":false,"interactions":{"identityConfirmation":{"accessMode":"OFF"},"welcomeEnabled":false,"resetPasswordEnabled":true,"resetPasswordNotificationEnable":true},"identityField":"email"}}"#,
                ),
                (
                    "POST",
                    "/management/v4/{tenant}/cloud_directory/sign_up?shouldCreateProfile=true",
                    r#"{"active":true,"emails":[{"value":"ada@example.com","primary":true}],"password":"S3cret-pass-Aa1","userName":"ada"}"#,
                ),
                (
                    "PUT",
                    "/management/v4/{tenant}/cloud_directory/Users/{appid_user}",
                    r#"{"active":true,"emails":[{"value":"ada@example.com","primary":true}],"displayName":"Ada"}"#,
                ),
            ],
        ),
        ("tags", vec![("POST", "/v3/tags/attach?tag_type=user", r#"{"tag_names":["env:dev"],"resources":[{"resource_id":"crn:v1:x"}]}"#)]),
        (
            "account-settings",
            vec![("PUT", "/v1/accounts/{account}/settings/identity", r#"{"mfa":"TOTP","session_expiration_in_seconds":"3600"}"#)],
        ),
        (
            "idp",
            vec![
                (
                    "POST",
                    "/v1/idps/",
                    r#"{"account_id":"{account}","name":"corp","type":"saml","active":true,"properties":{"idp":{"entity_id":"https://idp.example/realm","redirect_binding_url":"https://idp.example/sso"}},"secrets":{"idp":{"signing":[{"certificate":"MIIBfake"}]}}}"#,
                ),
                ("PUT", "/v1/idps/{idp}", r#"{"name":"corp-2","active":false}"#),
                (
                    "PUT",
                    "/v1/idps/{idp}/saml/metadata",
                    r#"<EntityDescriptor entityID="https://idp.example/realm"><IDPSSODescriptor><KeyDescriptor use="signing"><X509Certificate>MIIBfake</X509Certificate></KeyDescriptor><SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example/sso"/></IDPSSODescriptor></EntityDescriptor>"#,
                ),
                (
                    "POST",
                    "/v2/loginsettings/{account}/idps/{idp}",
                    r#"{"active":true,"ui_default":false,"cloud_user_strategy":"STATIC","default_group_ids":[]}"#,
                ),
                ("PUT", "/v2/loginsettings/{account}", r#"{"alias":"lab"}"#),
            ],
        ),
        (
            "invite",
            vec![
                ("POST", "/v2/groups?account_id={account}", r#"{"name":"invited"}"#),
                (
                    "POST",
                    "/v2/accounts/{account}/users",
                    r#"{"users":[{"email":"ada@example.com","account_role":"Member"}],"access_groups":["{group}"]}"#,
                ),
            ],
        ),
        (
            "admin",
            vec![
                ("POST", "/_emulator/faults", r#"{"route":"POST /v2/roles","status":429,"count":1,"retry_after":"0"}"#),
                ("PUT", "/_emulator/lag", r#"{"seconds":0}"#),
                ("PUT", "/_emulator/chaos", r#"{"seed":1,"fraction":0.0}"#),
            ],
        ),
    ];
    for (name, requests) in sequences {
        let mut bytes = Vec::new();
        for (method, path, body) in requests {
            if !bytes.is_empty() {
                bytes.push(PART_SEPARATOR);
            }
            bytes.push(route(method, path));
            bytes.extend(body.bytes());
        }
        seeds.push(("emulator_requests", name.to_string(), bytes));
    }
}
