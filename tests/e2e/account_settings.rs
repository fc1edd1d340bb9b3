use serde_json::json;

use crate::harness::{flat, planned_before_and_after, Emulator, Fault, Workspace, ACCOUNT_ID};

const SETTINGS: &str = "ibmqr_account_settings.this";

/// The account settings `this` with the values most tests manage.
fn settings_config(user_list_visibility: &str, session_expiration_seconds: u32) -> String {
    format!(
        r#"
resource "ibmqr_account_settings" "this" {{
  user_list_visibility       = "{user_list_visibility}"
  api_key_creation           = "unrestricted"
  session_expiration_seconds = {session_expiration_seconds}
  allowed_ip_addresses       = ["10.0.0.0/8", "192.168.1.1"]
  invitation_email_domains   = ["*@example.edu"]
}}
"#
    )
}

fn stored(emu: &Emulator) -> serde_json::Value {
    emu.object("account_settings", ACCOUNT_ID)
}

fn patch(emu: &Emulator, body: serde_json::Value) {
    emu.patch_object("account_settings", ACCOUNT_ID, body);
}

#[test]
fn apply_update_drift_and_destroy() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&settings_config("restricted", 3600));
    ws.apply_ok();
    let s = stored(&emu);
    assert_eq!(s["restrict_user_list_visibility"], "RESTRICTED");
    assert_eq!(s["restrict_create_platform_apikey"], "NOT_RESTRICTED");
    assert_eq!(s["session_expiration_in_seconds"], "3600");
    assert_eq!(s["allowed_ip_addresses"], "10.0.0.0/8,192.168.1.1");
    assert_eq!(s["restrict_user_domains"][0]["realm_id"], "IBMid");
    assert_eq!(s["restrict_user_domains"][0]["invitation_email_allow_patterns"][0], "*@example.edu");
    assert_eq!(s["mfa"], "NONE", "unmanaged settings are not written");
    assert_eq!(s["restrict_create_service_id"], "NOT_SET");
    ws.assert_no_changes();

    // In place.
    ws.write(&settings_config("unrestricted", 7200));
    ws.plan_changes_exactly(&[(SETTINGS, &["update"])]);
    ws.apply_ok();
    let s = stored(&emu);
    assert_eq!(s["session_expiration_in_seconds"], "7200");
    assert_eq!(s["restrict_user_list_visibility"], "NOT_RESTRICTED");
    ws.assert_no_changes();

    // A managed setting changed behind Terraform's back: the plan puts it back.
    patch(&emu, json!({"restrict_user_list_visibility": "RESTRICTED", "allowed_ip_addresses": ""}));
    let plan = ws.plan_changes_exactly(&[(SETTINGS, &["update"])]);
    let (before, after) = planned_before_and_after(&plan, SETTINGS, "user_list_visibility");
    assert_eq!((before, after), (&json!("restricted"), &json!("unrestricted")), "{plan}");
    ws.apply_ok();
    assert_eq!(stored(&emu)["restrict_user_list_visibility"], "NOT_RESTRICTED");
    assert_eq!(stored(&emu)["allowed_ip_addresses"], "10.0.0.0/8,192.168.1.1");
    ws.assert_no_changes();

    // An unmanaged one: no diff.
    patch(&emu, json!({"mfa": "TOTP", "max_sessions_per_identity": "5"}));
    ws.assert_no_changes();

    // Destroy leaves the settings as they are.
    ws.destroy_ok();
    let s = stored(&emu);
    assert_eq!(s["restrict_user_list_visibility"], "NOT_RESTRICTED");
    assert_eq!(s["session_expiration_in_seconds"], "7200");
    assert_eq!(s["mfa"], "TOTP");
}

#[test]
fn import_manages_only_configured_attributes() {
    let emu = Emulator::start();
    // Settings someone set in the console.
    let seeder = Workspace::new(&emu);
    seeder.write(
        r#"resource "ibmqr_account_settings" "x" {
  user_list_visibility = "restricted"
  mfa                  = "TOTP"
  allowed_ip_addresses = ["1.2.3.4"]
}"#,
    );
    seeder.apply_ok();
    seeder.state_rm("ibmqr_account_settings.x");

    let ws = Workspace::new(&emu);
    ws.write(
        r#"resource "ibmqr_account_settings" "this" {
  user_list_visibility = "restricted"
}"#,
    );
    ws.import_ok(SETTINGS, ACCOUNT_ID);
    ws.assert_no_changes();

    // Unmanaged settings may change; managed ones are planned back.
    patch(&emu, json!({"mfa": "LEVEL1"}));
    ws.assert_no_changes();
    patch(&emu, json!({"restrict_user_list_visibility": "NOT_RESTRICTED"}));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    ws.apply_ok();
    let s = stored(&emu);
    assert_eq!((s["restrict_user_list_visibility"].as_str(), s["mfa"].as_str()), (Some("RESTRICTED"), Some("LEVEL1")));
    ws.assert_no_changes();

    let other = Workspace::new(&emu);
    other.write(r#"resource "ibmqr_account_settings" "this" {}"#);
    let wrong = other.import(SETTINGS, "ffffffffffffffffffffffffffffffff");
    assert_eq!(wrong.code, 1);
    assert!(wrong.stderr.contains("Wrong account"), "{}", wrong.stderr);
}

#[test]
fn stale_entity_tag_is_read_again_and_retried() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(
        r#"resource "ibmqr_account_settings" "this" {
  service_id_creation = "restricted"
}"#,
    );
    let route = "PUT /v1/accounts/{account_id}/settings/identity";
    emu.inject_fault(Fault::new(route, 409, 1).code("conflict"));
    ws.apply_ok();
    assert_eq!(emu.request_count(route), 2, "{}", emu.request_counts());
    assert_eq!(stored(&emu)["restrict_create_service_id"], "RESTRICTED");
    ws.assert_no_changes();
}

#[test]
fn invalid_values_fail_at_plan() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(
        r#"resource "ibmqr_account_settings" "this" {
  user_list_visibility = "hidden"
}"#,
    );
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(
        plan.stderr.contains("Invalid user_list_visibility") && flat(&plan.stderr).contains("use one of: restricted, unrestricted."),
        "{}",
        plan.stderr
    );
    assert!(plan.stderr.contains("user_list_visibility = \"hidden\""), "points at the attribute: {}", plan.stderr);

    ws.write(
        r#"resource "ibmqr_account_settings" "this" {
  session_invalidation_seconds = 60
}"#,
    );
    let plan = ws.plan();
    assert_eq!(plan.code, 1);
    assert!(flat(&plan.stderr).contains("session_invalidation_seconds must be a whole number from 900 to 7200"), "{}", plan.stderr);
}
