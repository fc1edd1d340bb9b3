//! docs/guides/migrating-from-terraform-provider-ibm.md, step 2, as written: its configuration is
//! read from the guide, so the guide cannot drift from what works.

use std::path::PathBuf;

use terraform_provider_ibmqr::emulator::PUBLIC_ACCESS_ID;

use crate::harness::{planned_actions, state_attributes, state_resource_addresses, terraform_has, Emulator, Workspace};

const GROUP: &str = "ibmqr_access_group.ml";
const ROLE: &str = "ibmqr_custom_role.member";
/// The placeholder IDs the guide's import blocks show.
const GUIDE_GROUP_ID: &str = "AccessGroupId-6f1c2a1e-3d4b-4c5a-9e8f-0a1b2c3d4e5f";
const GUIDE_ROLE_ID: &str = "8f2b6c0e4d1a4f6b9c3e2a1d0f9e8b7c";

/// The guide's step-2 configuration: its one `terraform` code block with import blocks.
fn guide_configuration() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/guides/migrating-from-terraform-provider-ibm.md");
    let guide = std::fs::read_to_string(path).expect("the migration guide");
    let blocks: Vec<&str> = guide.split("```terraform\n").skip(1).filter_map(|rest| rest.split("```").next()).collect();
    let with_imports: Vec<&&str> = blocks.iter().filter(|block| block.contains("import {")).collect();
    assert_eq!(with_imports.len(), 1, "the guide shows one configuration with import blocks");
    with_imports[0].to_string()
}

/// The configuration without its import blocks (each one paragraph of its own).
fn without_imports(config: &str) -> String {
    config.split("\n\n").filter(|paragraph| !paragraph.trim_start().starts_with("import {")).collect::<Vec<_>>().join("\n\n")
}

#[test]
fn the_guides_import_blocks_adopt_a_group_and_a_role_without_changes() {
    let emu = Emulator::start();
    let guide = guide_configuration();
    assert!(guide.contains(GUIDE_GROUP_ID) && guide.contains(GUIDE_ROLE_ID), "the guide's placeholder IDs changed:\n{guide}");

    // The objects as the old provider left them in IBM Cloud: made here by another
    // configuration whose state is then dropped (step 1 of the guide forgets them without
    // destroying them; terraform-provider-ibm itself cannot be installed offline).
    let old = Workspace::new(&emu);
    std::fs::write(old.path().join("main.tf"), without_imports(&guide)).expect("main.tf");
    old.apply_ok();
    let state = old.state_json();
    let group_id = state_attributes(&state, GROUP)["id"].as_str().expect("group id").to_string();
    let role_id = state_attributes(&state, ROLE)["id"].as_str().expect("role id").to_string();
    old.state_rm_ok(&[GROUP, ROLE]);
    drop(old);

    let new = Workspace::new(&emu);
    if terraform_has((1, 5), "import blocks", "`terraform import` of the same group and role") {
        let config = guide.replace(GUIDE_GROUP_ID, &group_id).replace(GUIDE_ROLE_ID, &role_id);
        std::fs::write(new.path().join("main.tf"), config).expect("main.tf");
        let plan = new.plan_json();
        let actions = planned_actions(&plan);
        assert_eq!(actions[GROUP], ["no-op"], "{plan}");
        assert_eq!(actions[ROLE], ["no-op"], "{plan}");
        let importing: Vec<&str> =
            plan["resource_changes"].as_array().expect("changes").iter().filter_map(|c| c["change"]["importing"]["id"].as_str()).collect();
        assert_eq!(importing.len(), 2, "the plan imports both: {plan}");
        let out = new.plan();
        assert!(out.stdout.contains("Plan: 2 to import, 0 to add, 0 to change, 0 to destroy."), "as the guide says:\n{}", out.all());
        new.apply_ok();
    } else {
        std::fs::write(new.path().join("main.tf"), without_imports(&guide)).expect("main.tf");
        new.import_ok(GROUP, &group_id);
        new.import_ok(ROLE, &role_id);
    }
    let mut adopted = state_resource_addresses(&new.state_json());
    adopted.sort();
    assert_eq!(adopted, [GROUP, ROLE]);
    new.assert_no_changes();
    let groups = emu.stored("access_groups").into_iter().filter(|g| g["id"] != PUBLIC_ACCESS_ID).count();
    assert_eq!((groups, emu.stored("roles").len()), (1, 1), "adopted, nothing created");
}
