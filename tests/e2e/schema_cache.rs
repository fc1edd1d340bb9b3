//! Schema caching: the provider advertises `get_provider_schema_optional`, so Terraform 1.6+ asks
//! for the schemas once per run instead of once per provider instance; older Terraform ignores
//! the capability and keeps asking. The provider logs each GetProviderSchema it serves.

use crate::harness::*;

/// GetProviderSchema calls the provider served during one `terraform plan`, which must succeed
/// with no changes.
fn schema_calls_per_plan(ws: &mut Workspace) -> usize {
    let log = ws.path().join("provider.log");
    ws.extra_env = vec![("TF_LOG_PROVIDER".into(), "debug".into()), ("TF_LOG_PATH".into(), log.display().to_string())];
    let out = ws.terraform(&["plan", "-input=false", "-no-color", "-detailed-exitcode"]);
    ws.extra_env.clear();
    assert_eq!(out.code, 0, "plan after apply shows no changes: {}", out.all());
    let text = std::fs::read_to_string(&log).expect("the Terraform log");
    text.matches("GetProviderSchema: sending every schema").count()
}

#[test]
fn terraform_asks_for_the_schemas_once_per_plan_where_it_caches_them() {
    let emu = Emulator::start();
    let mut ws = Workspace::new(&emu);
    ws.write(&(ml_group() + &ml_policy(&["Viewer"], &[])));
    ws.apply_ok();
    let calls = schema_calls_per_plan(&mut ws);
    if terraform_has((1, 6), "schema caching (get_provider_schema_optional)", "that a plan works and asks at least once") {
        assert_eq!(calls, 1, "GetProviderSchema calls in one plan");
    } else {
        assert!(calls >= 1, "the log counts the calls: {calls}");
    }
    eprintln!("GetProviderSchema calls per plan on Terraform {:?}: {calls}", terraform_version());
}
