use serde_json::json;

use crate::harness::{flat, Emulator, Fault, FaultKind, Workspace, ACCOUNT_ID};

const POLICY: &str = "ibmqr_access_group_policy.project";
const GROUP_A: &str = "AccessGroupId-6f1a2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b";
const GROUP_B: &str = "AccessGroupId-7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d";
const GUID: &str = "5c4d3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a";
const RG: &str = "0123456789abcdef0123456789abcdef";
const VIEWER: &str = "crn:v1:bluemix:public:iam::::role:Viewer";

fn instance_crn() -> String {
    format!("crn:v1:bluemix:public:quantum-computing:us-east:a/{ACCOUNT_ID}:{GUID}::")
}

/// Access groups and the instance, as the other modules would have created them.
fn seed(emu: &Emulator) {
    for (id, name) in [(GROUP_A, "project-a"), (GROUP_B, "project-b")] {
        emu.put_object("access_groups", id, json!({"id": id, "name": name, "account_id": ACCOUNT_ID}));
    }
    let crn = instance_crn();
    emu.put_object(
        "instances",
        GUID,
        json!({"id": crn, "guid": GUID, "crn": crn, "name": "QR-ml", "account_id": ACCOUNT_ID, "state": "active"}),
    );
}

/// The policy `project` alone: `roles` and `scope` are HCL as they go into the block.
fn policy_resource(group: &str, roles: &str, scope: &str) -> String {
    format!(
        r#"
resource "ibmqr_access_group_policy" "project" {{
  access_group_id = "{group}"
  roles           = [{roles}]
  resource {{
    {scope}
  }}
}}
"#
    )
}

/// The policy `project` with its ID as output.
fn policy(group: &str, roles: &str, scope: &str) -> String {
    format!("{}output \"id\" {{ value = ibmqr_access_group_policy.project.id }}\n", policy_resource(group, roles, scope))
}

fn policies(emu: &Emulator) -> Vec<serde_json::Value> {
    emu.stored("policies")
}

fn attr<'a>(p: &'a serde_json::Value, list: &str, name: &str) -> Option<&'a str> {
    p[list][0]["attributes"].as_array()?.iter().find(|a| a["name"] == name)?["value"].as_str()
}

fn role_ids(p: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> =
        p["roles"].as_array().into_iter().flatten().filter_map(|r| r["role_id"].as_str().map(String::from)).collect();
    ids.sort();
    ids
}

#[test]
fn apply_update_replace_and_destroy() {
    let emu = Emulator::start();
    seed(&emu);
    let ws = Workspace::new(&emu);
    let by_crn = format!("instance_id = \"{}\"", instance_crn());
    ws.write(&policy(GROUP_A, r#""Viewer", "Reader""#, &by_crn));
    ws.apply_ok();
    let all = policies(&emu);
    assert_eq!(all.len(), 1);
    let p = &all[0];
    assert_eq!(attr(p, "subjects", "access_group_id"), Some(GROUP_A));
    assert_eq!(attr(p, "resources", "serviceInstance"), Some(GUID), "IBM gets the GUID");
    assert_eq!(attr(p, "resources", "serviceName"), Some("quantum-computing"));
    assert_eq!(attr(p, "resources", "accountId"), Some(ACCOUNT_ID));
    assert_eq!(role_ids(p), ["crn:v1:bluemix:public:iam::::role:Viewer", "crn:v1:bluemix:public:iam::::serviceRole:Reader"]);
    let id = ws.output_json()["id"]["value"].as_str().expect("id").to_string();
    ws.assert_no_changes(); // names and the instance CRN stay as written

    // Roles in place.
    ws.write(&policy(GROUP_A, r#""Viewer", "Writer""#, &by_crn));
    ws.plan_changes_exactly(&[(POLICY, &["update"])]);
    ws.apply_ok();
    let p = &policies(&emu)[0];
    assert!(role_ids(p).contains(&"crn:v1:bluemix:public:iam::::serviceRole:Writer".to_string()));
    assert_eq!(p["id"], id.as_str(), "same policy");
    ws.assert_no_changes();

    // Scope in place: the whole resource group.
    let by_group = format!("resource_group_id = \"{RG}\"");
    ws.write(&policy(GROUP_A, r#""Viewer", "Writer""#, &by_group));
    ws.plan_changes_exactly(&[(POLICY, &["update"])]);
    ws.apply_ok();
    let p = &policies(&emu)[0];
    assert_eq!((attr(p, "resources", "resourceGroupId"), attr(p, "resources", "serviceInstance")), (Some(RG), None));
    ws.assert_no_changes();

    // Another group replaces the policy.
    ws.write(&policy(GROUP_B, r#""Viewer", "Writer""#, &by_group));
    ws.plan_changes_exactly(&[(POLICY, &["delete", "create"])]);
    ws.apply_ok();
    let all = policies(&emu);
    assert_eq!(all.len(), 1);
    assert_eq!(attr(&all[0], "subjects", "access_group_id"), Some(GROUP_B));
    assert_ne!(all[0]["id"], id.as_str());
    ws.assert_no_changes();

    ws.destroy_ok();
    assert!(policies(&emu).is_empty(), "destroy leaves no policy behind");
}

#[test]
fn import_then_no_changes() {
    let emu = Emulator::start();
    seed(&emu);
    let ws = Workspace::new(&emu);
    let role = r#"
resource "ibmqr_custom_role" "member" {
  name         = "QiskitMember"
  display_name = "Qiskit member"
  actions      = ["quantum-computing.job.read", "quantum-computing.job.create"]
}
"#;
    ws.write(&format!(
        "{role}{}",
        policy(GROUP_A, r#""Viewer", "Manager", ibmqr_custom_role.member.crn"#, &format!("instance_id = \"{GUID}\""))
    ));
    ws.apply_ok();
    let id = ws.output_json()["id"]["value"].as_str().expect("id").to_string();

    let adopter = Workspace::new(&emu);
    let custom_crn = format!("crn:v1:ibmcloud:public:iam-access-management::a/{ACCOUNT_ID}::customRole:QiskitMember");
    adopter.write(&policy_resource(GROUP_A, &format!(r#""Viewer", "Manager", "{custom_crn}""#), &format!("instance_id = \"{GUID}\"")));
    adopter.import_ok(POLICY, &id);
    adopter.assert_no_changes();

    let missing = Workspace::new(&emu);
    missing.write(&policy(GROUP_A, r#""Viewer""#, ""));
    let out = missing.import(POLICY, "00000000-0000-0000-0000-000000000000");
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("Policy not found"), "{}", out.stderr);
}

#[test]
fn drift_is_detected() {
    let emu = Emulator::start();
    seed(&emu);
    let ws = Workspace::new(&emu);
    ws.write(&policy(GROUP_A, r#""Viewer", "Reader""#, ""));
    ws.apply_ok();
    let id = ws.output_json()["id"]["value"].as_str().expect("id").to_string();

    emu.patch_object("policies", &id, json!({"roles": [{"role_id": VIEWER, "display_name": "Viewer"}]}));
    ws.plan_changes_exactly(&[(POLICY, &["update"])]);
    ws.apply_ok();
    assert_eq!(role_ids(&policies(&emu)[0]).len(), 2);
    ws.assert_no_changes();

    emu.delete_object("policies", &id);
    ws.plan_changes_exactly(&[(POLICY, &["create"])]);
    ws.apply_ok();
    assert_eq!(policies(&emu).len(), 1);
    ws.assert_no_changes();
}

#[test]
fn invalid_input_fails_at_plan() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&policy(GROUP_A, r#""Viewer""#, &format!("instance_id = \"{GUID}\"\n    resource_group_id = \"{RG}\"")));
    let plan = ws.plan();
    assert_eq!(plan.code, 1);
    assert!(plan.stderr.contains("Both resource_group_id and instance_id") && plan.stderr.contains("instance_id ="), "{}", plan.stderr);

    ws.write(&policy(GROUP_A, r#""Viewr", "Reader""#, ""));
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(plan.stderr.contains("Unknown role") && plan.stderr.contains("\"Viewr\""), "{}", plan.stderr);
    assert!(plan.stderr.contains("Did you mean \"Viewer\""), "{}", plan.stderr);
    assert!(
        flat(&plan.stderr).contains("Valid names: Viewer, Operator, Editor, Administrator, Reader, Writer, Manager."),
        "lists the valid names: {}",
        plan.stderr
    );
    assert!(plan.stderr.contains("roles"), "names the attribute: {}", plan.stderr);
    assert!(policies(&emu).is_empty());
}

#[test]
fn custom_role_created_in_the_same_apply_despite_lag() {
    let emu = Emulator::start();
    seed(&emu);
    emu.set_lag(2.0);
    let ws = Workspace::new(&emu);
    let config = format!(
        r#"
resource "ibmqr_custom_role" "member" {{
  name         = "QiskitRuntimeUser"
  display_name = "Qiskit Runtime user"
  actions      = ["quantum-computing.job.read", "quantum-computing.job.create"]
}}
{}"#,
        policy(GROUP_A, r#""Viewer", ibmqr_custom_role.member.name"#, &format!("instance_id = \"{}\"", instance_crn()))
    );
    ws.write(&config);
    let out = ws.apply_ok();
    assert!(out.all().contains("Role not found yet"), "a warning, not an error, at plan: {}", out.all());
    let p = &policies(&emu)[0];
    assert!(
        role_ids(p).contains(&format!("crn:v1:ibmcloud:public:iam-access-management::a/{ACCOUNT_ID}::customRole:QiskitRuntimeUser")),
        "{p}"
    );
    ws.assert_no_changes(); // state keeps the custom role's name
}

#[test]
fn existing_policy_reports_import_command() {
    let emu = Emulator::start();
    seed(&emu);
    let ws = Workspace::new(&emu);
    ws.write(&policy(GROUP_A, r#""Viewer""#, ""));
    ws.apply_ok();
    let other = Workspace::new(&emu);
    other.write(&policy(GROUP_A, r#""Reader""#, ""));
    let out = other.apply();
    assert_eq!(out.code, 1);
    let text = flat(&out.stderr);
    assert!(text.contains("already has a policy") && text.contains("terraform import ibmqr_access_group_policy."), "{}", out.stderr);
}

/// Another writer changes the policy between the provider's read and its write (the emulator's
/// ETag race): the provider reads again and writes once more, keeping the other writer's
/// description, which it does not manage; the configured roles win. A race that repeats fails.
#[test]
fn an_etag_race_is_read_again_and_written_once_more() {
    let emu = Emulator::start();
    seed(&emu);
    let ws = Workspace::new(&emu);
    ws.write(&policy(GROUP_A, r#""Viewer""#, ""));
    ws.apply_ok();

    emu.inject_fault(Fault::of_kind("PUT /v1/policies/{id}", FaultKind::EtagRace, 1));
    ws.write(&policy(GROUP_A, r#""Viewer", "Reader""#, ""));
    ws.apply_ok();
    let stored = &policies(&emu)[0];
    assert_eq!(role_ids(stored).len(), 2, "the configuration's roles: {stored}");
    assert_eq!(stored["description"], "Changed by another writer (emulator ETag race)", "the other writer's change survives");
    assert_eq!(emu.request_count("PUT /v1/policies/{id}"), 2, "one race, one more write");
    ws.assert_no_changes();

    emu.inject_fault(Fault::of_kind("PUT /v1/policies/{id}", FaultKind::EtagRace, 2));
    ws.write(&policy(GROUP_A, r#""Viewer""#, ""));
    let out = ws.apply();
    assert_eq!(out.code, 1, "a race that repeats is an error:\n{}", out.all());
}
