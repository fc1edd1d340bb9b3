use crate::harness::{planned_actions, terraform_has, Emulator, Workspace};

const MEMBER_ROLE: &str = r#"
resource "ibmqr_custom_role" "member" {
  name         = "QiskitRuntimeUser"
  display_name = "Qiskit Runtime user"
  description  = "Runs and reads jobs"
  actions      = ["quantum-computing.job.read", "quantum-computing.job.create", "quantum-computing.device.read"]
}
output "crn" { value = ibmqr_custom_role.member.crn }
output "id"  { value = ibmqr_custom_role.member.id }
"#;

fn role_by_name(emu: &Emulator, name: &str) -> Option<serde_json::Value> {
    emu.objects("roles").into_iter().map(unwrap_record).find(|r| r["name"] == name)
}

/// Admin listings may wrap each object with its revision; take the object itself.
pub fn unwrap_record(v: serde_json::Value) -> serde_json::Value {
    match v.get("value") {
        Some(inner) if inner.is_object() => inner.clone(),
        _ => v,
    }
}

#[test]
fn create_update_replace_and_destroy() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(MEMBER_ROLE);
    ws.apply_ok();
    let role = role_by_name(&emu, "QiskitRuntimeUser").expect("role created in the emulator");
    assert_eq!(role["actions"].as_array().map(Vec::len), Some(3));
    let outputs = ws.output_json();
    assert!(outputs["crn"]["value"].as_str().unwrap_or_default().ends_with("::customRole:QiskitRuntimeUser"));
    ws.assert_no_changes();

    // In place: display_name and actions.
    ws.write(
        &MEMBER_ROLE
            .replace("Qiskit Runtime user", "Qiskit member")
            .replace(r#""quantum-computing.device.read"]"#, r#""quantum-computing.device.read", "quantum-computing.job.cancel"]"#),
    );
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("1 to change") && plan.stdout.contains("0 to destroy"), "{}", plan.stdout);
    ws.apply_ok();
    let role = role_by_name(&emu, "QiskitRuntimeUser").expect("role");
    assert_eq!(role["display_name"], "Qiskit member");
    assert_eq!(role["actions"].as_array().map(Vec::len), Some(4));
    assert_eq!(role["id"], ws.output_json()["id"]["value"], "updated in place, same id");
    ws.assert_no_changes();

    // A new name replaces the role.
    ws.write(&MEMBER_ROLE.replace("\"QiskitRuntimeUser\"", "\"QiskitMember\""));
    let plan = ws.plan();
    assert_eq!(plan.code, 2);
    assert!(
        plan.stdout.contains("must be replaced") && plan.stdout.contains("1 to add") && plan.stdout.contains("1 to destroy"),
        "{}",
        plan.stdout
    );
    ws.apply_ok();
    assert!(role_by_name(&emu, "QiskitRuntimeUser").is_none());
    assert!(role_by_name(&emu, "QiskitMember").is_some());
    ws.assert_no_changes();

    ws.destroy_ok();
    assert!(emu.objects("roles").is_empty(), "destroy leaves no custom role behind");
}

/// The member role, made by one configuration, for another to adopt: its ID, and the resource
/// block without the outputs.
fn role_made_elsewhere(emu: &Emulator) -> (String, &'static str) {
    let maker = Workspace::new(emu);
    maker.write(MEMBER_ROLE);
    maker.apply_ok();
    let id = maker.output_json()["id"]["value"].as_str().expect("id").to_string();
    (id, MEMBER_ROLE.split("output").next().expect("resource part"))
}

#[test]
fn import_then_no_changes() {
    let emu = Emulator::start();
    let (id, resource) = role_made_elsewhere(&emu);
    // A second configuration, without state, adopts the role by import.
    let adopter = Workspace::new(&emu);
    adopter.write(resource);
    adopter.import_ok("ibmqr_custom_role.member", &id);
    adopter.assert_no_changes();
}

/// A role made outside this configuration is adopted by an `import` block (Terraform 1.5+):
/// the plan says it imports and changes nothing, the apply creates nothing, and the next plan is
/// empty. Older Terraform has no import blocks: it adopts the role with `terraform import`.
#[test]
fn import_block_adopts_an_existing_role() {
    let emu = Emulator::start();
    let (id, resource) = role_made_elsewhere(&emu);
    let adopter = Workspace::new(&emu);
    if terraform_has((1, 5), "import blocks", "`terraform import` of the same role") {
        adopter.write(&format!("{resource}\nimport {{\n  to = ibmqr_custom_role.member\n  id = \"{id}\"\n}}\n"));
        let plan = adopter.plan_json();
        let change = &plan["resource_changes"][0];
        assert_eq!(change["address"], "ibmqr_custom_role.member", "{plan}");
        assert_eq!(change["change"]["importing"]["id"], id.as_str(), "the plan imports the role: {plan}");
        assert_eq!(planned_actions(&plan)["ibmqr_custom_role.member"], ["no-op"], "{plan}");
        adopter.apply_ok();
    } else {
        adopter.write(resource);
        adopter.import_ok("ibmqr_custom_role.member", &id);
    }
    let listed = adopter.terraform(&["state", "list"]);
    assert_eq!(listed.stdout.trim(), "ibmqr_custom_role.member", "{}", listed.all());
    adopter.assert_no_changes();
    assert_eq!(emu.objects("roles").len(), 1, "adopted, not created again");
}

#[test]
fn drift_is_detected() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(MEMBER_ROLE);
    ws.apply_ok();
    let id = ws.output_json()["id"]["value"].as_str().expect("id").to_string();

    // Actions changed behind Terraform's back: the plan puts them back.
    emu.admin("PATCH", &format!("/_emulator/objects/roles/{id}"), Some(serde_json::json!({"actions": ["quantum-computing.job.read"]})));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("1 to change"), "{}", plan.stdout);
    ws.apply_ok();
    ws.assert_no_changes();

    // Deleted behind Terraform's back: the plan creates it again.
    emu.admin("DELETE", &format!("/_emulator/objects/roles/{id}"), None);
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("1 to add"), "{}", plan.stdout);
    ws.apply_ok();
    assert!(role_by_name(&emu, "QiskitRuntimeUser").is_some());
}

#[test]
fn bad_name_and_unknown_action_fail_at_plan() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&MEMBER_ROLE.replace("\"QiskitRuntimeUser\"", "\"qiskit-user\""));
    let plan = ws.plan();
    assert_eq!(plan.code, 1);
    assert!(
        plan.stderr.contains("Invalid name") && plan.stderr.contains("ibmqr_custom_role.member") && plan.stderr.contains("name"),
        "{}",
        plan.stderr
    );

    ws.write(&MEMBER_ROLE.replace("quantum-computing.job.create", "quantum-computing.job.craete"));
    let plan = ws.plan();
    assert_eq!(plan.code, 1);
    assert!(plan.stderr.contains("Unknown action"), "{}", plan.stderr);
    assert!(plan.stderr.contains("actions"), "names the attribute: {}", plan.stderr);
    assert!(plan.stderr.contains("Did you mean \"quantum-computing.job.create\""), "{}", plan.stderr);
    assert!(emu.objects("roles").is_empty(), "nothing created");
}

#[test]
fn existing_role_name_reports_import_command() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(MEMBER_ROLE);
    ws.apply_ok();
    // A second configuration creating the same role name.
    let other = Workspace::new(&emu);
    other.write(MEMBER_ROLE);
    let out = other.apply();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("already exists") && out.stderr.contains("terraform import ibmqr_custom_role."), "{}", out.stderr);
}

#[test]
fn throttling_and_unavailability_are_retried() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(MEMBER_ROLE);
    emu.admin(
        "POST",
        "/_emulator/faults",
        Some(serde_json::json!({"route": "POST /v2/roles", "status": 429, "count": 3, "retry_after": "1"})),
    );
    emu.admin("POST", "/_emulator/faults", Some(serde_json::json!({"route": "GET /v2/roles/{id}", "status": 503, "count": 1})));
    ws.apply_ok();
    let counts = emu.request_counts();
    assert_eq!(counts["counts"]["POST /v2/roles"], 4, "three 429s then the create: {counts}");
    assert_eq!(emu.objects("roles").len(), 1, "exactly one role, no duplicate");
    ws.assert_no_changes();
}

#[test]
fn consistency_lag_is_waited_out() {
    let emu = Emulator::start();
    emu.admin("PUT", "/_emulator/lag", Some(serde_json::json!({"seconds": 1.5})));
    let ws = Workspace::new(&emu);
    ws.write(MEMBER_ROLE);
    ws.apply_ok();
    ws.assert_no_changes();
}

/// Ctrl-C during an apply: Terraform sends StopProvider, the provider cancels its wait and
/// returns what it created, and the state records it (no object lost from state).
#[test]
fn interrupted_apply_keeps_the_created_role_in_state() {
    let emu = Emulator::start();
    // The new role stays invisible for a minute, so the apply is waiting when interrupted.
    emu.admin("PUT", "/_emulator/lag", Some(serde_json::json!({"seconds": 60})));
    let ws = Workspace::new(&emu);
    ws.write(MEMBER_ROLE);
    let (succeeded, took) = ws.apply_interrupted_when(|| emu.request_counts()["counts"]["POST /v2/roles"] == 1);
    assert!(!succeeded, "an interrupted apply reports failure");
    assert!(took < std::time::Duration::from_secs(40), "stopped promptly, not after the 60 s lag");
    let list = ws.terraform(&["state", "list"]);
    assert!(list.stdout.contains("ibmqr_custom_role.member"), "the created role is in state: {}", list.all());
    assert_eq!(emu.objects("roles").len(), 1);
}
