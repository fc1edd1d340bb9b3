use serde_json::json;
use terraform_provider_ibmqr::emulator::PUBLIC_ACCESS_ID;

use crate::harness::{planned_before_and_after, rule_resource, Emulator, Rule, Workspace, TWO_ACCESS_GROUPS};

const RULE: &str = "ibmqr_access_group_dynamic_rule.r";

/// The rule most tests write, for the group `ml`.
fn ml_rule() -> Rule<'static> {
    Rule {
        label: "r",
        group: "ibmqr_access_group.ml.id",
        name: "ml-members",
        realm: "appid://realm-1",
        expiration_hours: 12,
        conditions: &[("project", "CONTAINS", "ml"), ("department", "IN", "research, engineering")],
    }
}

/// The rule with the groups `ml` and `fin`, and its ID as output.
fn rule_config(rule: &Rule<'_>) -> String {
    format!("{TWO_ACCESS_GROUPS}{}output \"id\" {{ value = ibmqr_access_group_dynamic_rule.r.id }}\n", rule_resource(rule))
}

fn rules(emu: &Emulator) -> Vec<serde_json::Value> {
    emu.stored("access_group_rules")
}

/// The account's groups but IBM's built-in Public Access group.
fn groups(emu: &Emulator) -> Vec<serde_json::Value> {
    emu.stored("access_groups").into_iter().filter(|g| g["id"] != PUBLIC_ACCESS_ID).collect()
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
    ws.write(&rule_config(&ml_rule()));
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
    ws.write(&rule_config(&Rule {
        name: "ml-team",
        realm: "https://idp.example.edu/saml",
        expiration_hours: 24,
        conditions: &[("project", "EQUALS_IGNORE_CASE", "ml"), ("department", "IN", "research")],
        ..ml_rule()
    }));
    ws.plan_changes_exactly(&[(RULE, &["update"])]);
    ws.apply_ok();
    let stored = rules(&emu);
    assert_eq!(stored[0]["name"], "ml-team");
    assert_eq!(stored[0]["expiration"], 24);
    assert_eq!(stored[0]["realm_name"], "https://idp.example.edu/saml");
    assert_eq!(stored[0]["conditions"][0]["operator"], "EQUALS_IGNORE_CASE");
    assert_eq!(rule_id(&ws), (group.clone(), rule.clone()), "same rule");
    ws.assert_no_changes();

    // Another group replaces the rule.
    ws.write(&rule_config(&Rule { group: "ibmqr_access_group.fin.id", ..ml_rule() }));
    ws.plan_changes_exactly(&[(RULE, &["delete", "create"])]);
    ws.apply_ok();
    let (fin, new_rule) = rule_id(&ws);
    assert_ne!(fin, group);
    assert_eq!(rules(&emu).len(), 1);
    ws.assert_no_changes();

    // Import into a fresh configuration, then no changes.
    let adopter = Workspace::new(&emu);
    let fin_id = format!("\"{fin}\"");
    adopter.write(&rule_resource(&Rule {
        group: &fin_id,
        conditions: &[("project", "CONTAINS", "ml"), ("department", "IN", "research,engineering")],
        ..ml_rule()
    }));
    adopter.import_ok(RULE, &format!("{fin}/{new_rule}"));
    adopter.assert_no_changes();

    ws.destroy_ok();
    assert!(rules(&emu).is_empty() && groups(&emu).is_empty());
}

#[test]
fn drift_and_json_quoted_values() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&rule_config(&ml_rule()));
    ws.apply_ok();
    let (_, rule) = rule_id(&ws);

    // IBM answering with JSON-quoted values means the same: no changes.
    emu.patch_object(
        "access_group_rules",
        &rule,
        json!({"conditions": [
            {"claim": "project", "operator": "CONTAINS", "value": "\"ml\""},
            {"claim": "department", "operator": "IN", "value": "[\"research\",\"engineering\"]"}
        ]}),
    );
    ws.assert_no_changes();

    // A real change behind Terraform's back is planned back.
    emu.patch_object(
        "access_group_rules",
        &rule,
        json!({"expiration": 3, "conditions": [
            {"claim": "project", "operator": "CONTAINS", "value": "\"finance\""},
            {"claim": "department", "operator": "IN", "value": "[\"research\",\"engineering\"]"}
        ]}),
    );
    let plan = ws.plan_changes_exactly(&[(RULE, &["update"])]);
    let (before, after) = planned_before_and_after(&plan, RULE, "condition");
    assert_eq!((&before[0]["value"], &after[0]["value"]), (&json!("finance"), &json!("ml")), "{plan}");
    ws.apply_ok();
    assert_eq!(rules(&emu)[0]["expiration"], 12);
    ws.assert_no_changes();

    // Deleted behind Terraform's back: planned for creation.
    emu.delete_object("access_group_rules", &rule);
    ws.plan_changes_exactly(&[(RULE, &["create"])]);
    ws.apply_ok();
    assert_eq!(rules(&emu).len(), 1);
}

#[test]
fn invalid_input_fails_at_plan() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&rule_config(&Rule { expiration_hours: 0, ..ml_rule() }));
    let plan = ws.plan();
    assert_eq!(plan.code, 1);
    assert!(plan.stderr.contains("Invalid expiration_hours") && plan.stderr.contains("expiration_hours"), "{}", plan.stderr);

    ws.write(&rule_config(&Rule { conditions: &[("project", "LIKE", "ml"), ml_rule().conditions[1]], ..ml_rule() }));
    let plan = ws.plan();
    assert_eq!(plan.code, 1);
    assert!(plan.stderr.contains("Invalid operator") && plan.stderr.contains("\"LIKE\""), "{}", plan.stderr);
    assert!(plan.stderr.contains("operator"), "{}", plan.stderr);
    assert!(groups(&emu).is_empty(), "nothing created");
}
