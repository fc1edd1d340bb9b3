//! `ibmqr_appid_directory` and `ibmqr_appid_user` against the emulated Resource Controller and
//! App ID management API.

use serde_json::json;

use crate::harness::{quoted, resource, Emulator, Workspace};

pub const DIRECTORY: &str = "ibmqr_appid_directory.campus";

/// The directory `campus` with the given extra attributes.
pub fn directory_resource(name: &str, extra: &[(&str, String)]) -> String {
    let mut attributes = vec![("name", quoted(name))];
    attributes.extend(extra.iter().cloned());
    resource("ibmqr_appid_directory", "campus", &attributes, &[])
}

/// The stored App ID instance (RC record) of the directory.
fn instance(emu: &Emulator) -> serde_json::Value {
    let all = emu.stored("instances");
    all.into_iter().find(|i| i["crn"].as_str().is_some_and(|c| c.contains(":appid:"))).expect("an App ID instance")
}

fn config(emu: &Emulator, tenant: &str) -> serde_json::Value {
    emu.object("appid_config", tenant)
}

#[test]
fn directory_lifecycle_updates_drift_and_import() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&directory_resource("campus-users", &[]));
    ws.apply_ok();
    let created = instance(&emu);
    let tenant = created["guid"].as_str().expect("guid").to_string();
    let stored = config(&emu, &tenant);
    assert_eq!(stored["cloud_directory"]["isActive"], true);
    assert_eq!(stored["cloud_directory"]["config"]["signupEnabled"], false, "self sign-up off by default");
    assert_eq!(stored["cloud_directory"]["config"]["interactions"]["welcomeEnabled"], true);
    assert_eq!(stored["cloud_directory"]["config"]["interactions"]["resetPasswordEnabled"], true);
    assert_eq!(stored["facebook"]["isActive"], false);
    assert_eq!(stored["google"]["isActive"], false);
    assert_eq!(stored["tokens"]["idTokenClaims"], json!([{"source": "attributes", "sourceClaim": "project", "destinationClaim": "project"}]));
    let state = ws.state_json();
    let values = &state["values"]["root_module"]["resources"][0]["values"];
    assert_eq!(values["tenant_id"], tenant.as_str());
    assert_eq!(values["region"], "us-east");
    assert!(values["management_url"].as_str().is_some_and(|u| u.ends_with(&format!("/management/v4/{tenant}"))), "{values}");
    ws.assert_no_changes();

    // In place: name, login field, sign-up, social logins, the mapped attribute (other mappings stay).
    let mut tokens = stored["tokens"].clone();
    tokens["idTokenClaims"].as_array_mut().expect("claims").push(json!({"source": "attributes", "sourceClaim": "role", "destinationClaim": "role"}));
    emu.patch_object("appid_config", &tenant, json!({"tokens": tokens}));
    ws.write(&directory_resource(
        "campus-people",
        &[("login_field", quoted("username")), ("self_signup", "true".into()), ("social_logins", "true".into()), ("project_attribute", quoted("projects"))],
    ));
    ws.plan_changes_exactly(&[(DIRECTORY, &["update"])]);
    ws.apply_ok();
    assert_eq!(instance(&emu)["guid"], tenant.as_str(), "same instance");
    assert_eq!(instance(&emu)["name"], "campus-people");
    let stored = config(&emu, &tenant);
    assert_eq!(stored["cloud_directory"]["config"]["identityField"], "userName");
    assert_eq!(stored["cloud_directory"]["config"]["signupEnabled"], true);
    assert_eq!(stored["google"]["isActive"], true);
    let claims: Vec<&str> = stored["tokens"]["idTokenClaims"].as_array().expect("claims").iter().filter_map(|c| c["sourceClaim"].as_str()).collect();
    assert_eq!(claims, ["role", "projects"], "the other mapping stays, the owned one moved");
    ws.assert_no_changes();

    // Drift in each managed setting is seen and put back.
    emu.patch_object("appid_config", &tenant, json!({"cloud_directory": {"config": {"interactions": {"welcomeEnabled": false}}}}));
    ws.plan_changes_exactly(&[(DIRECTORY, &["update"])]);
    ws.apply_ok();
    assert_eq!(config(&emu, &tenant)["cloud_directory"]["config"]["interactions"]["welcomeEnabled"], true);
    emu.patch_object("appid_config", &tenant, json!({"facebook": {"isActive": false}, "google": {"isActive": false}, "tokens": {"idTokenClaims": []}}));
    ws.plan_changes_exactly(&[(DIRECTORY, &["update"])]);
    ws.apply_ok();
    let stored = config(&emu, &tenant);
    assert_eq!(stored["facebook"]["isActive"], true);
    assert_eq!(stored["tokens"]["idTokenClaims"][0]["sourceClaim"], "projects");
    ws.assert_no_changes();

    // Import by CRN into another configuration: no changes.
    let crn = instance(&emu)["crn"].as_str().expect("crn").to_string();
    let adopter = Workspace::new(&emu);
    adopter.write(&directory_resource(
        "campus-people",
        &[("login_field", quoted("username")), ("self_signup", "true".into()), ("social_logins", "true".into()), ("project_attribute", quoted("projects"))],
    ));
    adopter.import_ok(DIRECTORY, &crn);
    adopter.assert_no_changes();

    // Deleted behind Terraform's back: planned again.
    ws.destroy_ok();
    assert_eq!(instance(&emu)["state"], "pending_reclamation");
    let bad = adopter.import(DIRECTORY, "crn:v1:bluemix:public:appid:us-east:a/x:nope::");
    assert_ne!(bad.code, 0);
}

#[test]
fn directory_bad_input_fails_at_plan_on_the_attribute() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&directory_resource("d", &[("plan", quoted("gold")), ("login_field", quoted("phone"))]));
    let out = ws.plan();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("plan") && out.stderr.contains("lite, graduated-tier"), "{}", out.stderr);
    assert!(out.stderr.contains("login_field") && out.stderr.contains("email, username"), "{}", out.stderr);
}
