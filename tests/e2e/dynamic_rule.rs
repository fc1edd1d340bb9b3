use serde_json::json;

use crate::harness::unwrap_record;
use crate::harness::{Emulator, Workspace};

const RULE: &str = r#"
resource "ibmqr_access_group" "ml" {
  name = "project-ml"
}
resource "ibmqr_access_group" "fin" {
  name = "project-finance"
}
resource "ibmqr_access_group_dynamic_rule" "r" {
  access_group_id  = ibmqr_access_group.ml.id
  name             = "ml-members"
  realm            = "appid://realm-1"
  expiration_hours = 12

  condition {
    claim    = "project"
    operator = "CONTAINS"
    value    = "ml"
  }

  condition {
    claim    = "department"
    operator = "IN"
    value    = "research, engineering"
  }
}
output "id" { value = ibmqr_access_group_dynamic_rule.r.id }
"#;

fn rules(emu: &Emulator) -> Vec<serde_json::Value> {
    emu.objects("access_group_rules").into_iter().map(unwrap_record).collect()
}

fn rule_id(ws: &Workspace) -> (String, String) {
    let id = ws.output_json()["id"]["value"].as_str().expect("id").to_string();
    let (g, r) = id.split_once('/').expect("GROUP/RULE");
    (g.to_string(), r.to_string())
}

#[test]
fn lifecycle_update_in_place_replace_import_destroy() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(RULE);
    ws.apply_ok();
    let (group, rule) = rule_id(&ws);
    assert!(rule.starts_with("ClaimRule-"), "{rule}");
    let stored = rules(&emu);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["expiration"], 12);
    assert_eq!(stored[0]["realm_name"], "appid://realm-1");
    // The emulator keeps a JSON string literal bare and the IN array as sent.
    assert_eq!(stored[0]["conditions"][0]["value"], "ml");
    assert_eq!(stored[0]["conditions"][1]["value"], "[\"research\",\"engineering\"]");
    ws.assert_no_changes();

    // Every attribute, the name included, changes in place.
    ws.write(
        &RULE
            .replace("\"ml-members\"", "\"ml-team\"")
            .replace("appid://realm-1", "https://idp.example.edu/saml")
            .replace("= 12", "= 24")
            .replace("\"CONTAINS\"", "\"EQUALS_IGNORE_CASE\"")
            .replace("research, engineering", "research"),
    );
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("1 to change") && plan.stdout.contains("0 to destroy"), "{}", plan.stdout);
    ws.apply_ok();
    let stored = rules(&emu);
    assert_eq!(stored[0]["name"], "ml-team");
    assert_eq!(stored[0]["expiration"], 24);
    assert_eq!(stored[0]["realm_name"], "https://idp.example.edu/saml");
    assert_eq!(stored[0]["conditions"][0]["operator"], "EQUALS_IGNORE_CASE");
    assert_eq!(rule_id(&ws), (group.clone(), rule.clone()), "same rule");
    ws.assert_no_changes();

    // Another group replaces the rule.
    ws.write(&RULE.replace("access_group_id  = ibmqr_access_group.ml.id", "access_group_id  = ibmqr_access_group.fin.id"));
    let plan = ws.plan();
    assert_eq!(plan.code, 2);
    assert!(plan.stdout.contains("must be replaced"), "{}", plan.stdout);
    ws.apply_ok();
    let (fin, new_rule) = rule_id(&ws);
    assert_ne!(fin, group);
    assert_eq!(rules(&emu).len(), 1);
    ws.assert_no_changes();

    // Import into a fresh configuration, then no changes.
    let adopter = Workspace::new(&emu);
    let rule_only =
        RULE.split("resource \"ibmqr_access_group_dynamic_rule\"").nth(1).expect("rule").split("output").next().expect("rule body");
    adopter.write(&format!(
        "resource \"ibmqr_access_group_dynamic_rule\"{}",
        rule_only.replace("ibmqr_access_group.ml.id", &format!("\"{fin}\"")).replace("research, engineering", "research,engineering")
    ));
    adopter.import_ok("ibmqr_access_group_dynamic_rule.r", &format!("{fin}/{new_rule}"));
    adopter.assert_no_changes();

    ws.destroy_ok();
    assert!(rules(&emu).is_empty() && emu.objects("access_groups").is_empty());
}

#[test]
fn drift_and_json_quoted_values() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(RULE);
    ws.apply_ok();
    let (_, rule) = rule_id(&ws);
    let path = format!("/_emulator/objects/access_group_rules/{rule}");

    // IBM answering with JSON-quoted values means the same: no changes.
    emu.admin(
        "PATCH",
        &path,
        Some(json!({"conditions": [
            {"claim": "project", "operator": "CONTAINS", "value": "\"ml\""},
            {"claim": "department", "operator": "IN", "value": "[\"research\",\"engineering\"]"}
        ]})),
    );
    ws.assert_no_changes();

    // A real change behind Terraform's back is planned back.
    emu.admin(
        "PATCH",
        &path,
        Some(json!({"expiration": 3, "conditions": [
            {"claim": "project", "operator": "CONTAINS", "value": "\"finance\""},
            {"claim": "department", "operator": "IN", "value": "[\"research\",\"engineering\"]"}
        ]})),
    );
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("1 to change") && plan.stdout.contains("finance"), "{}", plan.stdout);
    ws.apply_ok();
    assert_eq!(rules(&emu)[0]["expiration"], 12);
    ws.assert_no_changes();

    // Deleted behind Terraform's back: planned for creation.
    emu.admin("DELETE", &path, None);
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("1 to add"), "{}", plan.stdout);
    ws.apply_ok();
    assert_eq!(rules(&emu).len(), 1);
}

#[test]
fn invalid_input_fails_at_plan() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&RULE.replace("= 12", "= 0"));
    let plan = ws.plan();
    assert_eq!(plan.code, 1);
    assert!(plan.stderr.contains("Invalid expiration_hours") && plan.stderr.contains("expiration_hours"), "{}", plan.stderr);

    ws.write(&RULE.replace("\"CONTAINS\"", "\"LIKE\""));
    let plan = ws.plan();
    assert_eq!(plan.code, 1);
    assert!(plan.stderr.contains("Invalid operator") && plan.stderr.contains("\"LIKE\""), "{}", plan.stderr);
    assert!(plan.stderr.contains("operator"), "{}", plan.stderr);
    assert!(emu.objects("access_groups").is_empty(), "nothing created");
}
