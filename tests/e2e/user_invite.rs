use serde_json::json;
use terraform_provider_ibmqr::emulator::OWNER_IAM_ID;

use crate::harness::{Emulator, InviteSettings, Workspace, ACCOUNT_ID, TWO_ACCESS_GROUPS};

const INVITE: &str = "ibmqr_user_invite.p";
const INVITATIONS_ROUTE: &str = "POST /v2/accounts/{account_id}/users";

fn invite(email: &str, groups: &str) -> String {
    format!(
        "{TWO_ACCESS_GROUPS}\nresource \"ibmqr_user_invite\" \"p\" {{\n  email = \"{email}\"\n  access_group_ids = [{groups}]\n}}\noutput \"iam_id\" {{ value = ibmqr_user_invite.p.iam_id }}\noutput \"state\" {{ value = ibmqr_user_invite.p.state }}\noutput \"adopted\" {{ value = ibmqr_user_invite.p.adopted }}\n"
    )
}

/// The account's users but its owner, who is always there.
fn users(emu: &Emulator) -> Vec<serde_json::Value> {
    emu.stored("users").into_iter().filter(|u| u["iam_id"] != OWNER_IAM_ID).collect()
}

fn user_by_email(emu: &Emulator, email: &str) -> Option<serde_json::Value> {
    users(emu).into_iter().find(|u| u["email"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(email)))
}

/// The values of all outputs, by name.
fn outputs(ws: &Workspace) -> serde_json::Value {
    let all = ws.output_json();
    let values = all.as_object().expect("outputs").iter().map(|(name, output)| (name.clone(), output["value"].clone())).collect();
    serde_json::Value::Object(values)
}

fn text(value: &serde_json::Value) -> String {
    value.as_str().unwrap_or_else(|| panic!("not a string: {value}")).to_string()
}

#[test]
fn invite_update_replace_import_drift_destroy() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&invite("fatima@example.edu", "ibmqr_access_group.ml.id"));
    ws.apply_ok();
    let out = outputs(&ws);
    let (ml, fin, iam_id) = (text(&out["ml"]), text(&out["fin"]), text(&out["iam_id"]));
    assert!(iam_id.starts_with("IBMid-"), "{iam_id}");
    assert_eq!(out["state"], "PENDING");
    assert_eq!(out["adopted"], false);
    assert_eq!(user_by_email(&emu, "fatima@example.edu").expect("invited")["state"], "PENDING");
    assert_eq!(emu.members_of(&ml), vec![iam_id.clone()]);
    assert_eq!(emu.request_count(INVITATIONS_ROUTE), 1, "one invitation");
    ws.assert_no_changes();

    // Membership changes in place.
    ws.write(&invite("fatima@example.edu", "ibmqr_access_group.ml.id, ibmqr_access_group.fin.id"));
    ws.plan_changes_exactly(&[(INVITE, &["update"])]);
    ws.apply_ok();
    assert_eq!(emu.members_of(&fin), vec![iam_id.clone()]);
    ws.write(&invite("fatima@example.edu", "ibmqr_access_group.fin.id"));
    ws.apply_ok();
    assert!(emu.members_of(&ml).is_empty());
    assert_eq!(outputs(&ws)["iam_id"], json!(iam_id), "same person");
    ws.assert_no_changes();

    // Drift: a membership removed behind Terraform's back is added again.
    emu.remove_member(&fin, &iam_id);
    ws.plan_changes_exactly(&[(INVITE, &["update"])]);
    ws.apply_ok();
    assert_eq!(emu.members_of(&fin), vec![iam_id.clone()]);
    // Another group of the person's, not managed here, makes no difference.
    emu.add_member(&ml, &iam_id);
    ws.assert_no_changes();
    emu.remove_member(&ml, &iam_id);

    // Drift: the person removed from the account is invited again.
    emu.delete_object("users", &iam_id);
    ws.plan_changes_exactly(&[(INVITE, &["create"])]);
    ws.apply_ok();
    assert!(user_by_email(&emu, "fatima@example.edu").is_some());

    // Another address replaces the person.
    ws.write(&invite("ravi@example.edu", "ibmqr_access_group.fin.id"));
    ws.plan_changes_exactly(&[(INVITE, &["delete", "create"])]);
    ws.apply_ok();
    assert!(user_by_email(&emu, "fatima@example.edu").is_none(), "old person removed");
    let ravi = user_by_email(&emu, "ravi@example.edu").expect("new person");
    assert_eq!(emu.members_of(&fin), vec![text(&ravi["iam_id"])]);
    ws.assert_no_changes();

    // Import by email into a fresh configuration, then no changes.
    let adopter = Workspace::new(&emu);
    adopter
        .write(&format!("resource \"ibmqr_user_invite\" \"p\" {{\n  email = \"ravi@example.edu\"\n  access_group_ids = [\"{fin}\"]\n}}\n"));
    adopter.import_ok(INVITE, "Ravi@Example.edu");
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
    let iam_id = outputs(&ws)["iam_id"].clone();

    ws.write(&invite("Amyra@Example.EDU", "ibmqr_access_group.ml.id"));
    ws.plan_changes_exactly(&[(INVITE, &["update"])]);

    emu.reset_request_counts();
    let applied = ws.terraform(&["apply", "-auto-approve", "-input=false", "-no-color", "-refresh=false"]);
    assert_eq!(applied.code, 0, "{}", applied.all());
    assert_eq!(emu.request_total(), 0, "a case-only change sends no request: {}", emu.request_counts());
    assert_eq!(outputs(&ws)["iam_id"], iam_id);
    ws.assert_no_changes();
    assert_eq!(users(&emu).len(), 1);
}

#[test]
fn active_person_is_adopted_and_kept_on_destroy() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(TWO_ACCESS_GROUPS);
    ws.apply_ok();
    let out = outputs(&ws);
    let (ml, fin) = (text(&out["ml"]), text(&out["fin"]));
    // Someone already ACTIVE in the account, already in the ML group.
    let iam_id = "IBMid-270000ACTIVE";
    emu.put_object(
        "users",
        iam_id,
        json!({
            "id": iam_id, "iam_id": iam_id, "email": "Olga@Example.edu", "state": "ACTIVE", "realm": "IBMid", "account_id": ACCOUNT_ID
        }),
    );
    emu.add_member(&ml, iam_id);

    ws.write(&invite("olga@example.edu", "ibmqr_access_group.ml.id, ibmqr_access_group.fin.id"));
    ws.apply_ok();
    let out = outputs(&ws);
    assert_eq!(out["adopted"], true);
    assert_eq!(out["state"], "ACTIVE");
    assert_eq!(out["iam_id"], iam_id);
    // The invitation goes out first; IBM refuses it for someone already in the account.
    assert_eq!(emu.request_count(INVITATIONS_ROUTE), 1, "one invitation, refused");
    assert_eq!(users(&emu).len(), 1, "nobody else invited");
    assert_eq!(emu.members_of(&fin), vec![iam_id.to_string()]);
    ws.assert_no_changes();

    // Destroying the invite keeps the person and the membership they had; only fin is undone.
    ws.write(TWO_ACCESS_GROUPS);
    ws.apply_ok();
    let olga = user_by_email(&emu, "olga@example.edu").expect("person kept");
    assert_eq!(olga["state"], "ACTIVE");
    assert_eq!(emu.members_of(&ml), vec![iam_id.to_string()]);
    assert!(emu.members_of(&fin).is_empty());
}

#[test]
fn failed_invitation_reports_the_reason() {
    let emu = Emulator::start();
    emu.set_invite_settings(InviteSettings { error_domains: &["blocked.example"], ..InviteSettings::default() });
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
