//! Generated configuration (Terraform 1.14+, GenerateResourceConfig): import blocks alone, then
//! `plan -generate-config-out`, give configuration for every type that, applied, imports every
//! object and changes nothing; the next plan is empty.

use std::collections::BTreeMap;

use crate::harness::{flat, terraform_has, Emulator, Workspace};
use crate::identity::{every_type_config, stored, Stored, EVERY_TYPE};

/// `ibmqr_access_group.project["ml"]` → `ibmqr_access_group.project_ml`: generated configuration
/// needs addresses without instance keys.
fn plain_address(address: &str) -> String {
    address.replace("[\"", "_").replace("\"]", "")
}

/// The generated file, read after a fresh `plan -generate-config-out`.
fn generate(ws: &Workspace) -> String {
    let file = ws.path().join("generated.tf");
    let _ = std::fs::remove_file(&file);
    let out = ws.terraform(&["plan", "-generate-config-out=generated.tf", "-input=false", "-no-color"]);
    assert_eq!(out.code, 0, "plan -generate-config-out failed:\n{}", out.all());
    std::fs::read_to_string(&file).expect("generated.tf")
}

/// The generated block of `address` (from its `resource` line to its closing brace).
fn block_of<'a>(generated: &'a str, address: &str) -> &'a str {
    let (kind, name) = address.split_once('.').expect("TYPE.NAME");
    let head = format!("resource \"{kind}\" \"{name}\" {{");
    let start = generated.find(&head).unwrap_or_else(|| panic!("no {address} in the generated file:\n{generated}"));
    let end = generated[start..].find("\n}").map_or(generated.len(), |e| start + e + 2);
    &generated[start..end]
}

/// The generated blocks, each with its comment line, in a stable order.
fn blocks(generated: &str) -> std::collections::BTreeSet<&str> {
    generated.split("\n\n").map(str::trim).filter(|b| b.contains("resource \"")).collect()
}

fn attribute_names(block: &str) -> Vec<String> {
    block.lines().filter_map(|l| l.trim().split_once(" = ").map(|(name, _)| name.trim().to_string())).collect()
}

#[test]
fn generated_configuration_of_every_type_imports_and_plans_no_changes() {
    if !terraform_has(
        (1, 14),
        "GenerateResourceConfig",
        "nothing here (skipped: Terraform 1.5-1.13 writes configuration itself; see docs/guides/importing-and-generated-configuration.md)",
    ) {
        return;
    }
    let emu = Emulator::start();
    let maker = Workspace::new(&emu);
    maker.write_raw(&every_type_config());
    maker.apply_ok();
    let made: BTreeMap<String, Stored> = stored(&maker);

    // Another workspace adopts every object from import blocks alone.
    let ws = Workspace::new(&emu);
    let imports: String =
        made.values().map(|o| format!("import {{\n  to = {}\n  id = \"{}\"\n}}\n", plain_address(&o.address), o.import_id())).collect();
    ws.write(&imports);
    let generated = generate(&ws);
    // Terraform writes the blocks in the order its graph walk reaches them; each block is the same.
    assert_eq!(blocks(&generate(&ws)), blocks(&generated), "the same objects give the same configuration");

    for object in made.values() {
        let block = block_of(&generated, &plain_address(&object.address));
        let names = attribute_names(block);
        // Computed-only attributes are never written; `id` is computed only in every type.
        assert!(!names.iter().any(|n| n == "id"), "{}: computed `id` written:\n{block}", object.address);
        let destroy_settings = ["purge_on_destroy", "purge_reclamations_on_destroy"];
        assert!(!names.iter().any(|n| destroy_settings.contains(&n.as_str())), "{}: a default written:\n{block}", object.address);
    }
    for instance in made.values().filter(|o| o.kind == "ibmqr_instance") {
        let names = attribute_names(block_of(&generated, &plain_address(&instance.address)));
        assert!(names.contains(&"plan".to_string()) && !names.contains(&"plan_id".to_string()), "one of plan and plan_id: {names:?}");
        assert!(!names.iter().any(|n| n == "crn" || n == "guid" || n == "state"), "computed-only attributes written: {names:?}");
    }
    let chem = block_of(&generated, "ibmqr_instance.chem");
    assert!(flat(chem).contains(r#"backends = ["ibm_fez", "ibm_torino"]"#), "sets are sorted:\n{chem}");
    let kinds: std::collections::BTreeSet<&str> = made.values().map(|o| o.kind.as_str()).collect();
    assert_eq!(kinds, EVERY_TYPE.into_iter().collect());

    let out = ws.apply_ok();
    let expected = format!("Resources: {} imported, 0 added, 0 changed, 0 destroyed.", made.len());
    assert!(flat(&out.stdout).contains(&expected), "expected only imports ({expected}):\n{}\n{generated}", out.all());
    ws.assert_no_changes();
}
