//! gRPC-level tests of every RPC, for those Terraform 1.0.3 never calls (GetMetadata, state
//! upgrades from older schema versions, capability probes of newer Terraform) and for panics.

use std::sync::Arc;

use async_trait::async_trait;
use terraform_provider_ibmqr::framework::{
    resource, AnyDataSource, AnyResource, Attribute, Block, Ctx, OpResult, Provider, Resource, Schema, Tf, Type, Value,
};
use terraform_provider_ibmqr::plugin::handshake::serve;
use terraform_provider_ibmqr::plugin::proto::{self, provider_client::ProviderClient};
use terraform_provider_ibmqr::provider::IbmqrProvider;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use crate::harness::{Emulator, API_KEY};

async fn start<P: Provider>(provider: Arc<P>) -> (ProviderClient<Channel>, CancellationToken) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    tokio::spawn(serve(provider, incoming, shutdown.clone()));
    let client = ProviderClient::connect(format!("http://{addr}")).await.expect("connect");
    (client, shutdown)
}

fn dv(value: &Value, ty: &Type) -> Option<proto::DynamicValue> {
    Some(proto::DynamicValue { msgpack: value.to_msgpack(ty), json: vec![] })
}

fn json_value(json: serde_json::Value, ty: &Type) -> Value {
    Value::from_json(&json, ty).expect("value")
}

fn role_type() -> Type {
    IbmqrProvider.resources().into_iter().find(|r| r.type_name() == "ibmqr_custom_role").expect("custom role").schema().value_type()
}

fn provider_type() -> Type {
    IbmqrProvider.schema().value_type()
}

fn error_paths(diags: &[proto::Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .filter(|d| d.severity == proto::diagnostic::Severity::Error as i32)
        .flat_map(|d| d.attribute.iter())
        .map(|p| {
            p.steps
                .iter()
                .filter_map(|s| match &s.selector {
                    Some(proto::attribute_path::step::Selector::AttributeName(n)) => Some(n.clone()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect()
}

#[tokio::test]
async fn schema_metadata_and_capability_probes() {
    let (mut c, _stop) = start(Arc::new(IbmqrProvider)).await;
    let meta = c.get_metadata(proto::get_metadata::Request {}).await.expect("metadata").into_inner();
    assert!(meta.resources.iter().any(|r| r.type_name == "ibmqr_custom_role"));
    assert!(meta.data_sources.iter().any(|d| d.type_name == "ibmqr_service_roles"));

    let schema = c.get_provider_schema(proto::get_provider_schema::Request {}).await.expect("schema").into_inner();
    assert!(schema.diagnostics.is_empty());
    let provider = schema.provider.expect("provider schema").block.expect("block");
    assert!(provider.attributes.iter().any(|a| a.name == "api_key" && a.sensitive));
    // Terraform 1.0 mishandles nested-attribute schemas: none anywhere.
    for s in schema.resource_schemas.values().chain(schema.data_source_schemas.values()) {
        let block = s.block.as_ref().expect("block");
        assert!(block.attributes.iter().all(|a| a.nested_type.is_none()));
    }

    // Newer Terraform probes these while loading schemas: successes, no diagnostics. Every
    // resource type has an identity, each attribute a string required for import.
    let ids = c.get_resource_identity_schemas(proto::get_resource_identity_schemas::Request {}).await.expect("identity").into_inner();
    assert!(ids.diagnostics.is_empty());
    let mut identity_types: Vec<&String> = ids.identity_schemas.keys().collect();
    let mut resource_types: Vec<&String> = schema.resource_schemas.keys().collect();
    identity_types.sort();
    resource_types.sort();
    assert_eq!(identity_types, resource_types);
    let member = &ids.identity_schemas["ibmqr_access_group_member"];
    let names: Vec<&str> = member.identity_attributes.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["access_group_id", "iam_id"]);
    assert!(member.identity_attributes.iter().all(|a| a.required_for_import && a.r#type == b"\"string\"" && !a.description.is_empty()));
    assert!(schema.server_capabilities.as_ref().is_some_and(|c| c.generate_resource_config));
    let funcs = c.get_functions(proto::get_functions::Request {}).await.expect("functions").into_inner();
    assert!(funcs.diagnostics.is_empty() && funcs.functions.is_empty());

    // Features not offered: gRPC Unimplemented.
    let err = c.call_function(proto::call_function::Request::default()).await.expect_err("unimplemented");
    assert_eq!(err.code(), tonic::Code::Unimplemented);
    let err = c.move_resource_state(proto::move_resource_state::Request::default()).await.expect_err("unimplemented");
    assert_eq!(err.code(), tonic::Code::Unimplemented);
    let err = c.open_ephemeral_resource(proto::open_ephemeral_resource::Request::default()).await.expect_err("unimplemented");
    assert_eq!(err.code(), tonic::Code::Unimplemented);
}

/// A stored identity of version 0 (the only one yet) comes back as it was; one of a version this
/// provider does not know is refused, not misread.
#[tokio::test]
async fn identity_upgrades_and_generated_config() {
    let (mut c, _stop) = start(Arc::new(IbmqrProvider)).await;
    let upgrade = |version: i64| proto::upgrade_resource_identity::Request {
        type_name: "ibmqr_user_invite".into(),
        version,
        raw_identity: Some(proto::RawState { json: br#"{"email":"ada@uni.edu"}"#.to_vec(), flatmap: Default::default() }),
    };
    let ty = Type::object([("email", Type::String)]);
    let resp = c.upgrade_resource_identity(upgrade(0)).await.expect("upgrade").into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let data = resp.upgraded_identity.and_then(|i| i.identity_data).expect("identity");
    assert_eq!(Value::from_msgpack(&data.msgpack, &ty).expect("identity").to_json(), serde_json::json!({"email": "ada@uni.edu"}));
    let resp = c.upgrade_resource_identity(upgrade(5)).await.expect("upgrade").into_inner();
    assert!(resp.upgraded_identity.is_none() && resp.diagnostics.iter().any(|d| d.summary == "Identity from a newer provider"));

    // Configuration from a role's state: its computed attributes are left out.
    let state = json_value(
        serde_json::json!({"id": "r-1", "name": "R", "display_name": "R", "description": null, "actions": ["b.read", "a.read"],
            "service": "quantum-computing", "crn": "crn:v1:r"}),
        &role_type(),
    );
    let request = proto::generate_resource_config::Request { type_name: "ibmqr_custom_role".into(), state: dv(&state, &role_type()) };
    let resp = c.generate_resource_config(request).await.expect("generate").into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let config = Value::from_msgpack(&resp.config.expect("config").msgpack, &role_type()).expect("config");
    assert_eq!(config.get("id"), Some(&Value::Null));
    assert_eq!(config.get("crn"), Some(&Value::Null));
    assert_eq!(config.get("actions").map(Value::to_json), Some(serde_json::json!(["a.read", "b.read"])));
}

#[tokio::test]
async fn validation_names_attributes() {
    let (mut c, _stop) = start(Arc::new(IbmqrProvider)).await;
    let config = json_value(serde_json::json!({"region": "mars-1"}), &provider_type());
    let resp = c
        .validate_provider_config(proto::validate_provider_config::Request { config: dv(&config, &provider_type()) })
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(error_paths(&resp.diagnostics), vec!["region"]);

    let role =
        json_value(serde_json::json!({"name": "bad name", "display_name": "x", "actions": ["quantum-computing.job.read"]}), &role_type());
    let resp = c
        .validate_resource_config(proto::validate_resource_config::Request {
            type_name: "ibmqr_custom_role".into(),
            config: dv(&role, &role_type()),
            client_capabilities: None,
        })
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(error_paths(&resp.diagnostics), vec!["name"]);

    let resp = c
        .validate_data_resource_config(proto::validate_data_resource_config::Request {
            type_name: "ibmqr_no_such_thing".into(),
            config: None,
        })
        .await
        .expect("rpc")
        .into_inner();
    assert!(!resp.diagnostics.is_empty(), "an unknown type is reported, not a crash");
}

#[tokio::test]
async fn full_lifecycle_over_grpc() {
    let emu = tokio::task::spawn_blocking(Emulator::start).await.expect("emulator");
    let (mut c, _stop) = start(Arc::new(IbmqrProvider)).await;
    let pty = provider_type();
    let config = json_value(serde_json::json!({"api_key": API_KEY, "endpoints": [{"iam": emu.url, "iam_policy": emu.url}]}), &pty);
    let resp = c
        .configure_provider(proto::configure_provider::Request {
            terraform_version: "1.0.3".into(),
            config: dv(&config, &pty),
            client_capabilities: None,
        })
        .await
        .expect("configure")
        .into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);

    let ty = role_type();
    let cfg = json_value(serde_json::json!({"name": "GrpcRole", "display_name": "gRPC", "actions": ["quantum-computing.job.read"]}), &ty);
    let plan = c
        .plan_resource_change(proto::plan_resource_change::Request {
            type_name: "ibmqr_custom_role".into(),
            prior_state: dv(&Value::Null, &ty),
            proposed_new_state: dv(&cfg, &ty),
            config: dv(&cfg, &ty),
            ..Default::default()
        })
        .await
        .expect("plan")
        .into_inner();
    assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
    let planned = Value::from_msgpack(&plan.planned_state.expect("planned").msgpack, &ty).expect("decodes");
    assert!(planned.get("id").expect("id").is_unknown());
    assert_eq!(planned.get("service"), Some(&Value::string("quantum-computing")));

    let applied = c
        .apply_resource_change(proto::apply_resource_change::Request {
            type_name: "ibmqr_custom_role".into(),
            prior_state: dv(&Value::Null, &ty),
            planned_state: dv(&planned, &ty),
            config: dv(&cfg, &ty),
            ..Default::default()
        })
        .await
        .expect("apply")
        .into_inner();
    assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
    let state = Value::from_msgpack(&applied.new_state.expect("state").msgpack, &ty).expect("decodes");
    let id = state.get("id").and_then(Value::as_str).expect("id").to_string();

    let read = c
        .read_resource(proto::read_resource::Request {
            type_name: "ibmqr_custom_role".into(),
            current_state: dv(&state, &ty),
            ..Default::default()
        })
        .await
        .expect("read")
        .into_inner();
    assert_eq!(Value::from_msgpack(&read.new_state.expect("state").msgpack, &ty).expect("decodes"), state);

    let imported = c
        .import_resource_state(proto::import_resource_state::Request {
            type_name: "ibmqr_custom_role".into(),
            id: id.clone(),
            ..Default::default()
        })
        .await
        .expect("import")
        .into_inner();
    assert_eq!(imported.imported_resources.len(), 1);

    // Raw JSON state of an older schema version, with an attribute the schema no longer has.
    let raw = serde_json::json!({"id": id, "name": "GrpcRole", "display_name": "gRPC", "actions": ["quantum-computing.job.read"], "legacy_field": 1});
    let upgraded = c
        .upgrade_resource_state(proto::upgrade_resource_state::Request {
            type_name: "ibmqr_custom_role".into(),
            version: 0,
            raw_state: Some(proto::RawState { json: raw.to_string().into_bytes(), flatmap: Default::default() }),
        })
        .await
        .expect("upgrade")
        .into_inner();
    assert!(upgraded.diagnostics.is_empty(), "{:?}", upgraded.diagnostics);
    let up = Value::from_msgpack(&upgraded.upgraded_state.expect("state").msgpack, &ty).expect("decodes");
    assert_eq!(up.get("name"), Some(&Value::string("GrpcRole")));

    let ds_ty = IbmqrProvider.data_sources().into_iter().find(|d| d.type_name() == "ibmqr_account").expect("ds").schema().value_type();
    let ds = c
        .read_data_source(proto::read_data_source::Request {
            type_name: "ibmqr_account".into(),
            config: dv(&json_value(serde_json::json!({}), &ds_ty), &ds_ty),
            ..Default::default()
        })
        .await
        .expect("read ds")
        .into_inner();
    assert!(ds.diagnostics.is_empty(), "{:?}", ds.diagnostics);

    // Destroy, then a read finds it gone.
    let destroyed = c
        .apply_resource_change(proto::apply_resource_change::Request {
            type_name: "ibmqr_custom_role".into(),
            prior_state: dv(&state, &ty),
            planned_state: dv(&Value::Null, &ty),
            config: dv(&Value::Null, &ty),
            ..Default::default()
        })
        .await
        .expect("destroy")
        .into_inner();
    assert!(destroyed.diagnostics.is_empty());
    let read = c
        .read_resource(proto::read_resource::Request {
            type_name: "ibmqr_custom_role".into(),
            current_state: dv(&state, &ty),
            ..Default::default()
        })
        .await
        .expect("read")
        .into_inner();
    assert!(Value::from_msgpack(&read.new_state.expect("state").msgpack, &ty).expect("decodes").is_null());

    let stop = c.stop_provider(proto::stop_provider::Request {}).await.expect("stop").into_inner();
    assert!(stop.error.is_empty());
}

/// A provider whose only resource panics, to show a panic becomes a diagnostic.
struct PanickyProvider;
struct PanickyResource;

#[derive(serde::Serialize, serde::Deserialize, Clone)]
struct PanickyModel {
    id: Tf<String>,
}

#[async_trait]
impl Resource<()> for PanickyResource {
    type Model = PanickyModel;
    const TYPE_NAME: &'static str = "test_panic";

    fn schema() -> Schema {
        Schema::new(0, Block::new("panics").attr(Attribute::string("id").computed()))
    }
    async fn create(&self, _ctx: &Ctx<()>, _planned: PanickyModel, _config: PanickyModel) -> OpResult<PanickyModel> {
        panic!("boom in create")
    }
    async fn read(&self, _ctx: &Ctx<()>, _state: PanickyModel) -> OpResult<Option<PanickyModel>> {
        panic!("boom in read")
    }
    async fn update(&self, _ctx: &Ctx<()>, p: PanickyModel, _n: PanickyModel, _c: PanickyModel) -> OpResult<PanickyModel> {
        Ok(p)
    }
    async fn delete(&self, _ctx: &Ctx<()>, _p: PanickyModel) -> OpResult<()> {
        Ok(())
    }
}

#[async_trait]
impl Provider for PanickyProvider {
    type State = ();

    fn schema(&self) -> Schema {
        Schema::default()
    }
    async fn configure(&self, _c: &Value, _t: CancellationToken) -> OpResult<()> {
        Ok(())
    }
    fn resources(&self) -> Vec<Arc<dyn AnyResource<()>>> {
        vec![resource(PanickyResource)]
    }
    fn data_sources(&self) -> Vec<Arc<dyn AnyDataSource<()>>> {
        vec![]
    }
}

#[tokio::test]
async fn a_panic_becomes_an_error_diagnostic() {
    let (mut c, _stop) = start(Arc::new(PanickyProvider)).await;
    let ty = <PanickyResource as Resource<()>>::schema().value_type();
    let state = json_value(serde_json::json!({"id": "x"}), &ty);
    let resp = c
        .apply_resource_change(proto::apply_resource_change::Request {
            type_name: "test_panic".into(),
            prior_state: dv(&Value::Null, &ty),
            planned_state: dv(&state, &ty),
            config: dv(&state, &ty),
            ..Default::default()
        })
        .await
        .expect("the connection survives")
        .into_inner();
    assert!(resp.diagnostics.iter().any(|d| d.detail.contains("boom in create")), "{:?}", resp.diagnostics);
    let resp = c
        .read_resource(proto::read_resource::Request {
            type_name: "test_panic".into(),
            current_state: dv(&state, &ty),
            ..Default::default()
        })
        .await
        .expect("the connection survives")
        .into_inner();
    assert!(resp.diagnostics.iter().any(|d| d.detail.contains("boom in read")));
    // The server still answers afterwards.
    c.get_metadata(proto::get_metadata::Request {}).await.expect("still serving");
}
