//! The team module examples/modules/qiskit-project, used as registry users use it: by
//! examples/university (three projects and their leads), and by its own `terraform test` files.

use std::path::{Path, PathBuf};

use terraform_provider_ibmqr::emulator::{OWNER_IAM_ID, PUBLIC_ACCESS_ID};

use crate::harness::{terraform_has, Emulator, Workspace};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// Copies the files of `from` into `to`, subdirectories included.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("target dir");
    for entry in std::fs::read_dir(from).expect("source dir") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

/// Objects of `kind` but what every account has from the start: IBM's Public Access group and
/// the account owner.
fn made(emu: &Emulator, kind: &str) -> Vec<serde_json::Value> {
    emu.stored(kind).into_iter().filter(|o| o["id"] != PUBLIC_ACCESS_ID && o["id"] != OWNER_IAM_ID).collect()
}

/// What the emulator holds besides the account's defaults: (kind, count) for every kind the
/// module manages, instances that are not removed, resource groups that are not the default.
fn left_behind(emu: &Emulator) -> Vec<(&'static str, usize)> {
    let kinds = ["access_groups", "policies", "users", "roles", "access_group_rules", "access_group_members"];
    let mut left: Vec<(&str, usize)> = kinds.iter().map(|kind| (*kind, made(emu, kind).len())).collect();
    left.push(("instances", emu.stored("instances").iter().filter(|i| i["state"] != "removed").count()));
    left.push(("resource_groups", emu.stored("resource_groups").iter().filter(|g| g["default"] != true).count()));
    left.retain(|(_, count)| *count > 0);
    left
}

#[test]
fn university_applies_three_projects_plans_nothing_and_destroys() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    // The layout of examples/: the university beside modules/, its source path unchanged.
    copy_tree(&examples().join("modules"), &ws.path().join("modules"));
    copy_tree(&examples().join("university"), &ws.path().join("university"));
    let config = std::fs::read_to_string(ws.path().join("university/main.tf")).expect("main.tf");
    // The workspace's own directory is the root module, so the module sits one level down.
    std::fs::write(ws.path().join("main.tf"), config.replace("\"../modules/qiskit-project\"", "\"./modules/qiskit-project\""))
        .expect("main.tf");
    std::fs::remove_dir_all(ws.path().join("university")).expect("cleanup");

    ws.apply_ok();
    ws.assert_no_changes();
    let outputs = ws.output_json();
    let groups = outputs["groups"]["value"].as_object().expect("groups output");
    assert_eq!(groups.len(), 4, "{outputs}");
    assert!(groups.values().all(|id| id.as_str().is_some_and(|id| id.starts_with("AccessGroupId-"))), "{outputs}");
    let people = outputs["people"]["value"].as_object().expect("people output");
    let mut emails: Vec<&str> = people.keys().map(String::as_str).collect();
    emails.sort_unstable();
    assert_eq!(emails, ["dorothy@example.edu", "lise@example.edu", "marie@example.edu", "niels@example.edu"]);
    assert!(people.values().all(|id| id.as_str().is_some_and(|id| id.starts_with("IBMid-"))), "{outputs}");

    // One policy per instance of physics and chemistry, one on teaching's resource group, and
    // the leads' three; both custom roles shared, the admin one by the leads only.
    assert_eq!(emu.stored("policies").len(), 6);
    assert_eq!(emu.stored("roles").len(), 2);
    assert_eq!(made(&emu, "users").len(), 4);
    assert_eq!(emu.stored("access_group_rules").len(), 1);
    let admin_crn = emu.stored("roles").into_iter().find(|r| r["name"] == "UniversityQuantumAdmin").expect("admin role")["crn"].clone();
    let policies_text = serde_json::to_string(&emu.stored("policies")).expect("json");
    assert_eq!(
        policies_text.matches(admin_crn.as_str().expect("crn")).count(),
        3,
        "the admin role is granted by the leads' three policies"
    );

    ws.destroy_ok();
    assert_eq!(left_behind(&emu), vec![], "destroy leaves nothing behind");
}

/// The module's own tests, run as its authors run them: `terraform test` (Terraform 1.6+)
/// against the emulator. It applies tests/setup and the module, checks outputs and attributes,
/// and tears everything down.
#[test]
fn the_modules_terraform_tests_pass_against_the_emulator_and_leave_it_empty() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    copy_tree(&examples().join("modules/qiskit-project"), ws.path());
    if terraform_has((1, 6), "`terraform test`", "that the module and its test setup validate") {
        let out = ws.terraform(&["test", "-no-color"]);
        assert_eq!(out.code, 0, "terraform test failed:\n{}", out.all());
        assert!(out.stdout.contains("Success! 3 passed, 0 failed."), "{}", out.all());
        for route in ["POST /v2/groups", "POST /v2/accounts/{account_id}/users", "POST /v2/roles"] {
            assert!(emu.request_count(route) >= 1, "the tests applied for real ({route}): {}", emu.request_counts());
        }
        assert_eq!(left_behind(&emu), vec![], "terraform test left objects behind");
    } else {
        let out = ws.terraform(&["validate", "-no-color"]);
        assert_eq!(out.code, 0, "{}", out.all());
        let setup = Workspace::new(&emu);
        setup.copy_config_from(&examples().join("modules/qiskit-project/tests/setup"));
        let out = setup.terraform(&["validate", "-no-color"]);
        assert_eq!(out.code, 0, "{}", out.all());
    }
}
