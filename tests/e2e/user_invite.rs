use serde_json::json;

use crate::access_group_members::{member_path, members_of};
use crate::harness::unwrap_record;
use crate::harness::{Emulator, Workspace, ACCOUNT_ID};

const GROUPS: &str = r#"
resource "ibmqr_access_group" "ml" {
  name = "project-ml"
}
resource "ibmqr_access_group" "fin" {
  name = "project-finance"
}
output "ml"  { value = ibmqr_access_group.ml.id }
output "fin" { value = ibmqr_access_group.fin.id }
"#;

fn invite(email: &str, groups: &str) -> String {
    format!(
        "{GROUPS}\nresource \"ibmqr_user_invite\" \"p\" {{\n  email = \"{email}\"\n  access_group_ids = [{groups}]\n}}\noutput \"iam_id\" {{ value = ibmqr_user_invite.p.iam_id }}\noutput \"state\" {{ value = ibmqr_user_invite.p.state }}\noutput \"adopted\" {{ value = ibmqr_user_invite.p.adopted }}\n"
    )
}

fn users(emu: &Emulator) -> Vec<serde_json::Value> {
    emu.objects("users").into_iter().map(unwrap_record).collect()
}

fn user_by_email(emu: &Emulator, email: &str) -> Option<serde_json::Value> {
    users(emu).into_iter().find(|u| u["email"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(email)))
}

fn out(ws: &Workspace, name: &str) -> serde_json::Value {
    ws.output_json()[name]["value"].clone()
}

#[test]
fn invite_update_replace_import_drift_destroy() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&invite("fatima@example.edu", "ibmqr_access_group.ml.id"));
    ws.apply_ok();
    let (ml, fin) = (out(&ws, "ml").as_str().unwrap().to_string(), out(&ws, "fin").as_str().unwrap().to_string());
    let iam_id = out(&ws, "iam_id").as_str().expect("iam_id").to_string();
    assert!(iam_id.starts_with("IBMid-"), "{iam_id}");
    assert_eq!(out(&ws, "state"), "PENDING");
    assert_eq!(out(&ws, "adopted"), false);
    assert_eq!(user_by_email(&emu, "fatima@example.edu").expect("invited")["state"], "PENDING");
    assert_eq!(members_of(&emu, &ml), vec![iam_id.clone()]);
    assert_eq!(emu.request_counts()["counts"]["POST /v2/accounts/{account_id}/users"], 1, "one invitation");
    ws.assert_no_changes();

    // Membership changes in place.
    ws.write(&invite("fatima@example.edu", "ibmqr_access_group.ml.id, ibmqr_access_group.fin.id"));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("1 to change") && plan.stdout.contains("0 to destroy"), "{}", plan.stdout);
    ws.apply_ok();
    assert_eq!(members_of(&emu, &fin), vec![iam_id.clone()]);
    ws.write(&invite("fatima@example.edu", "ibmqr_access_group.fin.id"));
    ws.apply_ok();
    assert!(members_of(&emu, &ml).is_empty());
    assert_eq!(out(&ws, "iam_id"), json!(iam_id), "same person");
    ws.assert_no_changes();

    // Drift: a membership removed behind Terraform's back is added again.
    emu.admin("DELETE", &member_path(&fin, &iam_id), None);
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("1 to change"), "{}", plan.stdout);
    ws.apply_ok();
    assert_eq!(members_of(&emu, &fin), vec![iam_id.clone()]);
    // Another group of the person's, not managed here, makes no difference.
    emu.admin("PUT", &member_path(&ml, &iam_id), Some(json!({"access_group_id": ml, "iam_id": iam_id, "type": "user"})));
    ws.assert_no_changes();
    emu.admin("DELETE", &member_path(&ml, &iam_id), None);

    // Drift: the person removed from the account is invited again.
    emu.admin("DELETE", &format!("/_emulator/objects/users/{iam_id}"), None);
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("1 to add"), "{}", plan.stdout);
    ws.apply_ok();
    assert!(user_by_email(&emu, "fatima@example.edu").is_some());

    // Another address replaces the person.
    ws.write(&invite("ravi@example.edu", "ibmqr_access_group.fin.id"));
    let plan = ws.plan();
    assert_eq!(plan.code, 2);
    assert!(plan.stdout.contains("must be replaced"), "{}", plan.stdout);
    ws.apply_ok();
    assert!(user_by_email(&emu, "fatima@example.edu").is_none(), "old person removed");
    let ravi = user_by_email(&emu, "ravi@example.edu").expect("new person");
    assert_eq!(members_of(&emu, &fin), vec![ravi["iam_id"].as_str().unwrap().to_string()]);
    ws.assert_no_changes();

    // Import by email into a fresh configuration, then no changes.
    let adopter = Workspace::new(&emu);
    adopter
        .write(&format!("resource \"ibmqr_user_invite\" \"p\" {{\n  email = \"ravi@example.edu\"\n  access_group_ids = [\"{fin}\"]\n}}\n"));
    adopter.import_ok("ibmqr_user_invite.p", "Ravi@Example.edu");
    adopter.assert_no_changes();

    // Destroy removes the still-PENDING person from the account.
    ws.destroy_ok();
    assert!(users(&emu).is_empty(), "destroy leaves nobody behind");
    assert!(emu.objects("access_group_members").is_empty());
}

#[test]
fn email_case_change_is_an_in_place_update_without_api_calls() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&invite("amyra@example.edu", "ibmqr_access_group.ml.id"));
    ws.apply_ok();
    let iam_id = out(&ws, "iam_id");

    ws.write(&invite("Amyra@Example.EDU", "ibmqr_access_group.ml.id"));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("1 to change") && !plan.stdout.contains("must be replaced"), "{}", plan.stdout);

    emu.admin("POST", "/_emulator/requests/reset", None);
    let applied = ws.terraform(&["apply", "-auto-approve", "-input=false", "-no-color", "-refresh=false"]);
    assert_eq!(applied.code, 0, "{}", applied.all());
    let counts = emu.request_counts();
    assert_eq!(counts["total"], 0, "a case-only change sends no request: {counts}");
    assert_eq!(out(&ws, "iam_id"), iam_id);
    ws.assert_no_changes();
    assert_eq!(users(&emu).len(), 1);
}

#[test]
fn active_person_is_adopted_and_kept_on_destroy() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(GROUPS);
    ws.apply_ok();
    let (ml, fin) = (out(&ws, "ml").as_str().unwrap().to_string(), out(&ws, "fin").as_str().unwrap().to_string());
    // Someone already ACTIVE in the account, already in the ML group.
    let iam_id = "IBMid-270000ACTIVE";
    emu.admin(
        "PUT",
        &format!("/_emulator/objects/users/{iam_id}"),
        Some(json!({
            "id": iam_id, "iam_id": iam_id, "email": "Olga@Example.edu", "state": "ACTIVE", "realm": "IBMid", "account_id": ACCOUNT_ID
        })),
    );
    emu.admin("PUT", &member_path(&ml, iam_id), Some(json!({"access_group_id": ml, "iam_id": iam_id, "type": "user"})));

    ws.write(&invite("olga@example.edu", "ibmqr_access_group.ml.id, ibmqr_access_group.fin.id"));
    ws.apply_ok();
    assert_eq!(out(&ws, "adopted"), true);
    assert_eq!(out(&ws, "state"), "ACTIVE");
    assert_eq!(out(&ws, "iam_id"), iam_id);
    assert_eq!(emu.request_counts()["counts"]["POST /v2/accounts/{account_id}/users"], serde_json::Value::Null, "no invitation sent");
    assert_eq!(members_of(&emu, &fin), vec![iam_id.to_string()]);
    ws.assert_no_changes();

    // Destroying the invite keeps the person and the membership they had; only fin is undone.
    ws.write(GROUPS);
    ws.apply_ok();
    let olga = user_by_email(&emu, "olga@example.edu").expect("person kept");
    assert_eq!(olga["state"], "ACTIVE");
    assert_eq!(members_of(&emu, &ml), vec![iam_id.to_string()]);
    assert!(members_of(&emu, &fin).is_empty());
}

#[test]
fn failed_invitation_reports_the_reason() {
    let emu = Emulator::start();
    emu.admin("PUT", "/_emulator/objects/emulator_settings/user_management", Some(json!({"invite_error_domains": ["blocked.example"]})));
    let ws = Workspace::new(&emu);
    ws.write(&invite("eve@blocked.example", ""));
    let out = ws.apply();
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains("Invitation failed") && out.stderr.contains("ERROR_WHILE_PROCESSING") && out.stderr.contains("blocked.example"),
        "{}",
        out.stderr
    );
    // The person is in state, so destroy cleans up.
    ws.destroy_ok();
    assert!(users(&emu).is_empty());
}

#[test]
fn bad_email_fails_at_plan() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&invite("not-an-email", ""));
    let plan = ws.plan();
    assert_eq!(plan.code, 1);
    assert!(plan.stderr.contains("Invalid email") && plan.stderr.contains("email"), "{}", plan.stderr);
    assert!(users(&emu).is_empty());
}

/// Ctrl-C while IBM is still processing an invitation: the person stays in state (found by email
/// later), so destroy removes them instead of leaving an untracked invitation behind.
#[test]
fn interrupted_invite_stays_in_state_and_destroy_removes_the_person() {
    let emu = Emulator::start();
    emu.admin("PUT", "/_emulator/objects/emulator_settings/user_management", Some(serde_json::json!({"invite_processing_ms": 60000})));
    let ws = Workspace::new(&emu);
    ws.write(r#"resource "ibmqr_user_invite" "slow" { email = "slow@example.edu" }"#);
    let (succeeded, took) = ws.apply_interrupted_when(|| emu.request_counts()["counts"]["POST /v2/accounts/{account_id}/users"] == 1);
    assert!(!succeeded);
    assert!(took < std::time::Duration::from_secs(40), "stopped promptly");
    let list = ws.terraform(&["state", "list"]);
    assert!(list.stdout.contains("ibmqr_user_invite.slow"), "the invitation is in state: {}", list.all());
    assert_eq!(emu.objects("users").len(), 1);
    ws.destroy_ok();
    assert!(emu.objects("users").is_empty(), "destroy removed the invited person");
}
