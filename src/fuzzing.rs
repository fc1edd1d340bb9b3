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
pub const TARGETS: [(&str, fn(&[u8])); 3] =
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
        })
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
        })
    }),
    ("idp", |b| typed::<ibmcloud::iam_idps::Idp>(b)),
    ("idps", |b| under::<Vec<ibmcloud::iam_idps::Idp>>(b, "idps")),
    ("idp_login_setting", |b| typed::<ibmcloud::iam_idps::IdpLoginSetting>(b)),
    ("idp_limit", |b| under::<ibmcloud::iam_idps::LimitCount>(b, "idps")),
    ("login_alias", |b| {
        with_body(b, |body| {
            let _ = body["alias"].as_str().unwrap_or_default().to_string();
        })
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
        })
    }),
    ("catalog_pages", catalog_pages),
    ("cloud_directory_user", |b| typed::<ibmcloud::appid::CloudDirectoryUser>(b)),
    ("cloud_directory_users", cloud_directory_users),
    ("user_info", |b| typed::<ibmcloud::appid::UserInfo>(b)),
    ("profile_attributes", |b| {
        with_body(b, |body| {
            let _ = body["attributes"].as_object().cloned().unwrap_or_default();
        })
    }),
];

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
fn response(body: &[u8]) -> Result<ApiResponse, Error> {
    ApiResponse::from_raw("GET /fuzz", RawResponse { status: 200, headers: Default::default(), body: body.to_vec() })
}

fn with_body(body: &[u8], read: impl FnOnce(&Json)) {
    if let Ok(resp) = response(body) {
        read(&resp.body);
    }
}

/// The body as one object, as `send().await?.json()` reads it (with its ETag).
fn typed<T: DeserializeOwned>(body: &[u8]) {
    if let Ok(resp) = response(body) {
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
        let Ok(resp) = response(page) else { return };
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
        let Ok(resp) = response(page) else { return };
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
    let Ok(resp) = response(body) else { return };
    if let Ok(instance) = resp.json::<ibmcloud::resource_controller::ResourceInstance>() {
        let _ = instance.is_deleted();
        let _ = ibmcloud::appid::Tenant::from_crn(&instance.crn);
    }
}

fn resource_group(body: &[u8]) {
    let Ok(resp) = response(body) else { return };
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
    ("POST", "/management/v4/{tenant}/cloud_directory/sign_up", Some("appid_user")),
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
            let send = |method: &str, uri: &str, bearer: Option<&str>, body: Vec<u8>| {
                let mut request = http::Request::builder().method(method).uri(uri);
                if let Some(token) = bearer {
                    request = request.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
                }
                let content_type = if uri.starts_with("/identity/") { "application/x-www-form-urlencoded" } else { "application/json" };
                let request = request.header(http::header::CONTENT_TYPE, content_type).body(axum::body::Body::from(body));
                let (router, uri) = (router.clone(), uri.to_string());
                async move {
                    let response =
                        router.oneshot(request.expect("a request from a route of the table")).await.expect("the router never fails");
                    let status = response.status();
                    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("an in-memory body");
                    assert!(status.as_u16() < 500, "{uri} answered {status}: {}", String::from_utf8_lossy(&body));
                    (status, body)
                }
            };
            let form = "grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey=fuzz-key";
            let (_, token) = send("POST", "/identity/token", None, form.into()).await;
            let token: Json = serde_json::from_slice(&token).expect("a token answer");
            let token = token["access_token"].as_str().expect("an access token").to_string();
            let mut ids = Ids::default();
            for part in data.split(|b| *b == PART_SEPARATOR).take(8) {
                let [route, body @ ..] = part else { continue };
                let (method, path, creates) = EMULATOR_ROUTES[usize::from(*route) % EMULATOR_ROUTES.len()];
                let bearer = (!path.starts_with("/identity/")).then_some(token.as_str());
                let (status, answer) = send(method, &ids.fill(path), bearer, body.to_vec()).await;
                if let (Some(slot), true) = (creates, status.is_success()) {
                    ids.record(slot, &answer);
                }
            }
        });
    });
}

/// The ids earlier requests of one input created, by placeholder.
#[derive(Default)]
struct Ids(std::collections::HashMap<&'static str, String>);

impl Ids {
    fn record(&mut self, slot: &'static str, answer: &[u8]) {
        let Ok(json) = serde_json::from_slice::<Json>(answer) else { return };
        let id = json.get("id").or_else(|| json.get("idp_id")).and_then(Json::as_str);
        if let Some(id) = id {
            self.0.insert(slot, id.to_string());
        }
        // An App ID instance's GUID names its tenant.
        if let Some(guid) = json.get("guid").and_then(Json::as_str) {
            self.0.insert("tenant", guid.to_string());
        }
    }

    /// `path` with each placeholder replaced by the id recorded for it, or a fixed one.
    fn fill(&self, path: &str) -> String {
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
        let mut filled = path.to_string();
        for (slot, default) in fixed {
            let id = self.0.get(slot).map_or(default, String::as_str);
            filled = filled.replace(&format!("{{{slot}}}"), &ibmcloud::path_segment(id));
        }
        filled
    }
}
