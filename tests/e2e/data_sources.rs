use crate::harness::{Emulator, Workspace, ACCOUNT_ID};

#[test]
fn account_and_service_roles() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(
        r#"
data "ibmqr_account" "this" {}
data "ibmqr_service_roles" "qc" {}
output "account_id" { value = data.ibmqr_account.this.account_id }
output "iam_id"     { value = data.ibmqr_account.this.iam_id }
output "roles"      { value = data.ibmqr_service_roles.qc.roles }
output "actions"    { value = data.ibmqr_service_roles.qc.actions }
"#,
    );
    ws.apply_ok();
    let out = ws.output_json();
    assert_eq!(out["account_id"]["value"], ACCOUNT_ID);
    assert!(out["iam_id"]["value"].as_str().unwrap_or_default().starts_with("IBMid-"));
    let roles = out["roles"]["value"].as_array().expect("roles");
    let reader = roles.iter().find(|r| r["name"] == "Reader").expect("Reader role");
    assert_eq!(reader["type"], "service");
    assert_eq!(reader["crn"], "crn:v1:bluemix:public:iam::::serviceRole:Reader");
    assert!(roles.iter().any(|r| r["name"] == "Viewer" && r["type"] == "platform"));
    let actions: Vec<&str> = out["actions"]["value"].as_array().expect("actions").iter().filter_map(|a| a.as_str()).collect();
    assert!(actions.contains(&"quantum-computing.job.delete"));
    let mut sorted = actions.clone();
    sorted.sort();
    assert_eq!(actions, sorted, "actions are sorted");
    // What the emulator lists must agree: the manager role's actions include job.delete.
    let manager = roles.iter().find(|r| r["name"] == "Manager").expect("Manager");
    assert!(manager["actions"].as_array().expect("a").iter().any(|a| a == "quantum-computing.job.delete"));
}
