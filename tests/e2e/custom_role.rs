use crate::harness::{
    member_role, planned_actions, planned_before_and_after, role_made_elsewhere, role_resource, state_resource_addresses, terraform_has,
    Emulator, Fault, FaultKind, Workspace, MEMBER_ACTIONS,
};

const ROLE: &str = "ibmqr_custom_role.member";

const ROLE_OUTPUTS: &str = r#"
output "crn" { value = ibmqr_custom_role.member.crn }
output "id"  { value = ibmqr_custom_role.member.id }
"#;

/// The member role with its CRN and ID as outputs.
fn role_config(name: &str, display_name: &str, actions: &[&str]) -> String {
    format!("{}{ROLE_OUTPUTS}", role_resource(name, display_name, actions))
}

fn member_role_config() -> String {
    format!("{}{ROLE_OUTPUTS}", member_role())
}

fn role_by_name(emu: &Emulator, name: &str) -> Option<serde_json::Value> {
    emu.stored("roles").into_iter().find(|r| r["name"] == name)
}

#[test]
fn create_update_replace_and_destroy() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&member_role_config());
    ws.apply_ok();
    let role = role_by_name(&emu, "QiskitRuntimeUser").expect("role created in the emulator");
    assert_eq!(role["actions"].as_array().map(Vec::len), Some(3));
    let outputs = ws.output_json();
    assert!(outputs["crn"]["value"].as_str().unwrap_or_default().ends_with("::customRole:QiskitRuntimeUser"));
    ws.assert_no_changes();

    // In place: display_name and actions.
    let more_actions = [&MEMBER_ACTIONS[..], &["quantum-computing.job.cancel"]].concat();
    ws.write(&role_config("QiskitRuntimeUser", "Qiskit member", &more_actions));
    let plan = ws.plan_changes_exactly(&[(ROLE, &["update"])]);
    assert_eq!(planned_before_and_after(&plan, ROLE, "display_name").1, "Qiskit member", "{plan}");
    ws.apply_ok();
    let role = role_by_name(&emu, "QiskitRuntimeUser").expect("role");
    assert_eq!(role["display_name"], "Qiskit member");
    assert_eq!(role["actions"].as_array().map(Vec::len), Some(4));
    assert_eq!(role["id"], ws.output_json()["id"]["value"], "updated in place, same id");
    ws.assert_no_changes();

    // A new name replaces the role.
    ws.write(&role_config("QiskitMember", "Qiskit Runtime user", &MEMBER_ACTIONS));
    ws.plan_changes_exactly(&[(ROLE, &["delete", "create"])]);
    ws.apply_ok();
    assert!(role_by_name(&emu, "QiskitRuntimeUser").is_none());
    assert!(role_by_name(&emu, "QiskitMember").is_some());
    ws.assert_no_changes();

    ws.destroy_ok();
    assert!(emu.objects("roles").is_empty(), "destroy leaves no custom role behind");
}

#[test]
fn import_then_no_changes() {
    let emu = Emulator::start();
    let (id, resource) = role_made_elsewhere(&emu);
    // A second configuration, without state, adopts the role by import.
    let adopter = Workspace::new(&emu);
    adopter.write(&resource);
    adopter.import_ok(ROLE, &id);
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
        adopter.write(&format!("{resource}\nimport {{\n  to = {ROLE}\n  id = \"{id}\"\n}}\n"));
        let plan = adopter.plan_json();
        let change = &plan["resource_changes"][0];
        assert_eq!(change["address"], ROLE, "{plan}");
        assert_eq!(change["change"]["importing"]["id"], id.as_str(), "the plan imports the role: {plan}");
        assert_eq!(planned_actions(&plan)[ROLE], ["no-op"], "{plan}");
        adopter.apply_ok();
    } else {
        adopter.write(&resource);
        adopter.import_ok(ROLE, &id);
    }
    assert_eq!(state_resource_addresses(&adopter.state_json()), [ROLE]);
    adopter.assert_no_changes();
    assert_eq!(emu.objects("roles").len(), 1, "adopted, not created again");
}

#[test]
fn drift_is_detected() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&member_role_config());
    ws.apply_ok();
    let id = ws.output_json()["id"]["value"].as_str().expect("id").to_string();

    // Actions changed behind Terraform's back: the plan puts them back.
    emu.patch_object("roles", &id, serde_json::json!({"actions": ["quantum-computing.job.read"]}));
    let plan = ws.plan_changes_exactly(&[(ROLE, &["update"])]);
    let mut configured = MEMBER_ACTIONS;
    configured.sort(); // a set: Terraform lists it sorted
    let (before, after) = planned_before_and_after(&plan, ROLE, "actions");
    assert_eq!((before, after), (&serde_json::json!(["quantum-computing.job.read"]), &serde_json::json!(configured)), "{plan}");
    ws.apply_ok();
    ws.assert_no_changes();

    // Deleted behind Terraform's back: the plan creates it again.
    emu.delete_object("roles", &id);
    ws.plan_changes_exactly(&[(ROLE, &["create"])]);
    ws.apply_ok();
    assert!(role_by_name(&emu, "QiskitRuntimeUser").is_some());
}

#[test]
fn bad_name_and_unknown_action_fail_at_plan() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&role_config("qiskit-user", "Qiskit Runtime user", &MEMBER_ACTIONS));
    let plan = ws.plan();
    assert_eq!(plan.code, 1);
    assert!(plan.stderr.contains("Invalid name") && plan.stderr.contains(ROLE) && plan.stderr.contains("name"), "{}", plan.stderr);

    let misspelt = ["quantum-computing.job.read", "quantum-computing.job.craete", "quantum-computing.device.read"];
    ws.write(&role_config("QiskitRuntimeUser", "Qiskit Runtime user", &misspelt));
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
    ws.write(&member_role_config());
    ws.apply_ok();
    // A second configuration creating the same role name.
    let other = Workspace::new(&emu);
    other.write(&member_role_config());
    let out = other.apply();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("already exists") && out.stderr.contains("terraform import ibmqr_custom_role."), "{}", out.stderr);
}

#[test]
fn throttling_and_unavailability_are_retried() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&member_role_config());
    emu.inject_fault(Fault::new("POST /v2/roles", 429, 3).retry_after("1"));
    emu.inject_fault(Fault::new("GET /v2/roles/{id}", 503, 1));
    ws.apply_ok();
    assert_eq!(emu.request_count("POST /v2/roles"), 4, "three 429s then the create: {}", emu.request_counts());
    assert_eq!(emu.objects("roles").len(), 1, "exactly one role, no duplicate");
    ws.assert_no_changes();
}

/// The answer to the create is lost after IBM made the role, which reads show 1.5 s late: the
/// first look finds nothing, the retry meets 409 `role_conflict_error`, and the role this apply
/// made is adopted, once. A role that was there before still gets "already exists".
#[test]
fn a_lost_create_answer_adopts_the_role_it_made() {
    let emu = Emulator::start();
    emu.set_lag(1.5);
    emu.inject_fault(Fault::of_kind("POST /v2/roles", FaultKind::ResetAfter, 1));
    let ws = Workspace::new(&emu);
    ws.write(&member_role_config());
    ws.apply_ok();
    assert_eq!(emu.request_count("POST /v2/roles"), 2, "the lost create and one retry: {}", emu.request_counts());
    assert_eq!(emu.stored("roles").len(), 1, "exactly one role");
    let id = ws.output_json()["id"]["value"].as_str().expect("id").to_string();
    assert_eq!(role_by_name(&emu, "QiskitRuntimeUser").expect("role")["id"], id.as_str(), "state holds the role the apply made");
    ws.assert_no_changes();

    // Someone else's role of the same name, made before: an answer lost the same way does not
    // adopt it.
    let emu = Emulator::start();
    let mut theirs = role_by_name_after_apply(&member_role_config());
    theirs["created_by_id"] = "IBMid-someone-else".into();
    let id = theirs["id"].as_str().expect("id").to_string();
    emu.put_object("roles", &id, theirs);
    emu.inject_fault(Fault::of_kind("POST /v2/roles", FaultKind::ResetBefore, 1));
    let other = Workspace::new(&emu);
    other.write(&member_role_config());
    let out = other.apply();
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("already exists") && out.stderr.contains("terraform import ibmqr_custom_role."), "{}", out.stderr);
    assert_eq!(emu.stored("roles").len(), 1, "still one role");
}

/// The stored role a configuration makes on an emulator of its own.
fn role_by_name_after_apply(config: &str) -> serde_json::Value {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(config);
    ws.apply_ok();
    role_by_name(&emu, "QiskitRuntimeUser").expect("role")
}

#[test]
fn consistency_lag_is_waited_out() {
    let emu = Emulator::start();
    emu.set_lag(1.5);
    let ws = Workspace::new(&emu);
    ws.write(&member_role_config());
    ws.apply_ok();
    ws.assert_no_changes();
}
