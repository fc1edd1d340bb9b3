//! The whole guide: examples/quickstart applied with IBM's eventual consistency switched on.

use std::path::PathBuf;

use terraform_provider_ibmqr::emulator::{OWNER_IAM_ID, PUBLIC_ACCESS_ID};

use crate::harness::{state_resource_addresses, Emulator, Workspace};

/// Objects of `kind` the emulator still holds, less those for which `keep` says so.
fn left(emu: &Emulator, kind: &str, keep: impl Fn(&serde_json::Value) -> bool) -> Vec<serde_json::Value> {
    emu.objects(kind).into_iter().map(|e| e["value"].clone()).filter(|v| !keep(v)).collect()
}

fn total(counts: &serde_json::Value) -> u64 {
    counts["total"].as_u64().unwrap_or_default()
}

#[test]
fn quickstart_applies_with_lag_then_plans_nothing_and_destroys_cleanly() {
    let emu = Emulator::start();
    emu.set_lag(2.0);
    let ws = Workspace::new(&emu);
    ws.copy_config_from(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart"));

    emu.reset_request_counts();
    ws.apply_ok();
    let apply_counts = emu.request_counts();
    eprintln!("requests sent by one apply of the quickstart: {} {}", total(&apply_counts), apply_counts["counts"]);

    emu.reset_request_counts();
    ws.assert_no_changes();
    let refresh_counts = emu.request_counts();
    eprintln!("requests sent by one refresh (plan) of the quickstart: {} {}", total(&refresh_counts), refresh_counts["counts"]);

    // The state of a fresh workspace holds what the one apply added; its outputs too.
    let state = ws.state_json();
    assert_eq!(state_resource_addresses(&state).len(), 19, "resources added: {state}");
    assert_eq!(state["values"]["outputs"]["access_groups"]["value"].as_object().map(|m| m.len()), Some(2));
    assert_eq!(emu.objects("policies").len(), 2);
    // Besides the account owner, who was there before.
    assert_eq!(left(&emu, "users", |v| v["iam_id"] == OWNER_IAM_ID).len(), 2);

    // The federated project: Ada's projects put her in the ml group at login.
    let idp = &state["values"]["root_module"]["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["address"] == "ibmqr_identity_provider.campus")
        .expect("idp")["values"];
    let (status, ada) = emu.login(idp["realm"].as_str().expect("realm"), "ada@example.edu", None);
    assert_eq!(status, 200, "{ada}");
    assert_eq!(ada["group_names"], serde_json::json!(["project-ml"]));
    assert!(state["values"]["outputs"]["federated_login_url"]["value"]
        .as_str()
        .is_some_and(|u| u.starts_with("https://cloud.ibm.com/authorize/")));

    ws.destroy_ok();
    assert!(left(&emu, "idps", |_| false).is_empty(), "identity providers left");
    assert!(left(&emu, "appid_users", |_| false).is_empty(), "App ID users left");
    assert!(left(&emu, "roles", |_| false).is_empty(), "custom roles left");
    assert!(left(&emu, "access_groups", |v| v["id"] == PUBLIC_ACCESS_ID).is_empty(), "access groups left");
    assert!(left(&emu, "access_group_members", |_| false).is_empty(), "memberships left");
    assert!(left(&emu, "access_group_rules", |_| false).is_empty(), "rules left");
    assert!(left(&emu, "policies", |_| false).is_empty(), "policies left");
    // Ada joined the account by logging in, and the owner made it; Terraform managed neither.
    assert!(left(&emu, "users", |v| v["realm"] != "IBMid" || v["iam_id"] == OWNER_IAM_ID).is_empty(), "invited users left");
    assert!(left(&emu, "instances", |v| v["state"] == "removed").is_empty(), "live instances left");
    assert!(left(&emu, "resource_groups", |v| v["default"] == true).is_empty(), "resource groups left");
}
