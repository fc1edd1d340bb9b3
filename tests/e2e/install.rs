//! The provider installed as registry users install it: the archives scripts/package.sh writes
//! (the script `make release` runs), a filesystem mirror, and a real `terraform init`. The
//! harness installs every workspace this way; these tests check the archives and the hashes.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::harness::{
    assert_no_development_overrides, installation, mirror_cli_config, package_binary, package_dev_build, run_with_timeout,
    terraform_command, TfOutput, PROVIDER_REQUIREMENT,
};

const ZIP_SUFFIX: &str = "linux_amd64.zip";

/// The `h1:` hashes a lock file records for the provider.
fn h1_hashes(lock_file: &str) -> BTreeSet<String> {
    lock_file
        .lines()
        .map(|line| line.trim().trim_end_matches(',').trim_matches('"'))
        .filter(|h| h.starts_with("h1:"))
        .map(String::from)
        .collect()
}

/// Runs `args` of Terraform in `dir` with the CLI configuration file `cli_config`.
fn terraform_in(dir: &Path, cli_config: &Path, args: &[&str]) -> TfOutput {
    let mut cmd = terraform_command(dir, cli_config);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = run_with_timeout(cmd, std::time::Duration::from_secs(120));
    assert_no_development_overrides(&out);
    out
}

/// A directory holding only the provider requirement and a CLI configuration that installs from
/// `mirror` alone (no plugin cache): what a new user's checkout looks like.
fn fresh_checkout(mirror: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("main.tf"), PROVIDER_REQUIREMENT).expect("main.tf");
    std::fs::write(dir.path().join("terraformrc"), mirror_cli_config(mirror, None)).expect("cli config");
    dir
}

fn run(program: &str, args: &[&str], dir: &Path, env: &[(&str, &Path)]) -> TfOutput {
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(dir).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (name, value) in env {
        cmd.env(name, value);
    }
    run_with_timeout(cmd, std::time::Duration::from_secs(120))
}

#[test]
fn init_from_the_mirror_records_the_hash_that_providers_lock_computes() {
    let installation = installation();
    let checkout = fresh_checkout(&installation.mirror);
    let rc = checkout.path().join("terraformrc");
    let out = terraform_in(checkout.path(), &rc, &["init", "-input=false", "-no-color"]);
    assert_eq!(out.code, 0, "init failed:\n{}", out.all());
    assert!(
        out.stdout.contains(&format!("Installed ibmqr/ibmqr v{}", installation.version)),
        "init installed the provider:\n{}",
        out.all()
    );
    let lock_file = std::fs::read_to_string(checkout.path().join(".terraform.lock.hcl")).expect("lock file");
    assert!(lock_file.contains(&format!("version = \"{}\"", installation.version)), "{lock_file}");
    let recorded = h1_hashes(&lock_file);
    assert_eq!(recorded.len(), 1, "one h1: hash, this platform's: {lock_file}");

    let other = fresh_checkout(&installation.mirror);
    let mirror = format!("-fs-mirror={}", installation.mirror.display());
    let out = terraform_in(
        other.path(),
        &other.path().join("terraformrc"),
        &["providers", "lock", "-no-color", &mirror, "-platform=linux_amd64"],
    );
    assert_eq!(out.code, 0, "providers lock failed:\n{}", out.all());
    let computed = h1_hashes(&std::fs::read_to_string(other.path().join(".terraform.lock.hcl")).expect("lock file"));
    assert_eq!(recorded, computed, "init and `providers lock -fs-mirror` agree on the h1: hash");
    // The shared lock file every workspace starts from records the same hash.
    assert_eq!(h1_hashes(&installation.lock_file), recorded);
}

#[test]
fn the_archives_match_their_checksums_and_manifest() {
    let installation = installation();
    let version = &installation.version;
    assert_eq!(version, env!("CARGO_PKG_VERSION"), "`terraform-provider-ibmqr --version` prints Cargo.toml's version");
    let prefix = format!("terraform-provider-ibmqr_{version}");
    let sums_name = format!("{prefix}_SHA256SUMS");
    let out = run("sha256sum", &["-c", &sums_name], &installation.dist, &[]);
    assert_eq!(out.code, 0, "sha256sum -c failed:\n{}", out.all());
    let zip_name = format!("{prefix}_{ZIP_SUFFIX}");
    let manifest_name = format!("{prefix}_manifest.json");
    assert_eq!(out.stdout, format!("{zip_name}: OK\n{manifest_name}: OK\n"), "SHA256SUMS lists the zip and the manifest");

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(installation.dist.join(&manifest_name)).expect("manifest")).expect("manifest JSON");
    assert_eq!(manifest, serde_json::json!({"version": 1, "metadata": {"protocol_versions": ["6.0"]}}));

    // One member, the executable named as Terraform expects.
    let list = "import sys, zipfile\nfor i in zipfile.ZipFile(sys.argv[1]).infolist(): print(i.filename, oct(i.external_attr >> 16))";
    let out = run("python3", &["-c", list, &zip_name], &installation.dist, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.stdout, format!("terraform-provider-ibmqr_v{version} 0o100755\n"));

    let mirrored = installation.mirror.join("registry.terraform.io/ibmqr/ibmqr").join(&zip_name);
    assert_eq!(std::fs::read(mirrored).expect("mirrored zip"), std::fs::read(installation.dist.join(&zip_name)).expect("zip"));
    assert!(!installation.dist.join(format!("{sums_name}.sig")).exists(), "no signature without IBMQR_GPG_KEY");
}

#[test]
fn a_throwaway_key_signs_the_checksums_and_gpg_verify_accepts_it() {
    let gnupg = tempfile::Builder::new().prefix("gpg").tempdir_in("/tmp").expect("GNUPGHOME");
    let home = gnupg.path();
    std::fs::set_permissions(home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).expect("chmod");
    let key = "ibmqr e2e <e2e@ibmqr.invalid>";
    let env = [("GNUPGHOME", home)];
    let gpg = |args: &[&str], dir: &Path| run("gpg", args, dir, &env);
    let made = gpg(&["--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", key, "ed25519", "sign", "1d"], home);
    assert_eq!(made.code, 0, "gpg could not make a key:\n{}", made.all());

    let dir = tempfile::tempdir().expect("tempdir");
    let packed = package_dev_build(dir.path(), &[("IBMQR_GPG_KEY", "e2e@ibmqr.invalid"), ("GNUPGHOME", home.to_str().expect("path"))]);
    assert_eq!(packed.code, 0, "package.sh failed:\n{}", packed.all());
    let dist = dir.path().join("dist");
    let sums = format!("terraform-provider-ibmqr_{}_SHA256SUMS", installation().version);
    let sig = format!("{sums}.sig");
    let verified = gpg(&["--batch", "--verify", &sig, &sums], &dist);
    assert_eq!(verified.code, 0, "gpg --verify refused the signature:\n{}", verified.all());
    assert!(verified.stderr.contains("Good signature from \"ibmqr e2e"), "{}", verified.all());

    // A checksum file changed after signing is refused.
    let mut text = std::fs::read_to_string(dist.join(&sums)).expect("sums");
    text.push_str(&format!("{}  extra.zip\n", "0".repeat(64)));
    std::fs::write(dist.join(&sums), text).expect("tamper");
    let tampered = gpg(&["--batch", "--verify", &sig, &sums], &dist);
    assert_ne!(tampered.code, 0, "gpg accepted a changed checksum file:\n{}", tampered.all());
    let _ = run("gpgconf", &["--kill", "all"], home, &env);
}

/// A stand-in provider binary: package.sh only asks its version, and `terraform init` only
/// unpacks and hashes it.
fn stand_in_binary(dir: &Path, build: &str) -> std::path::PathBuf {
    let path = dir.join(format!("provider-{build}"));
    let text = format!("#!/bin/sh\necho terraform-provider-ibmqr {}\n# build {build}\n", installation().version);
    std::fs::write(&path, text).expect("binary");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    path
}

fn zip_bytes(dir: &Path) -> Vec<u8> {
    let name = format!("terraform-provider-ibmqr_{}_{ZIP_SUFFIX}", installation().version);
    std::fs::read(dir.join("dist").join(name)).expect("zip")
}

#[test]
fn the_same_binary_packs_to_the_same_zip_and_a_rebuilt_one_must_be_initialised_again() {
    let work = tempfile::tempdir().expect("tempdir");
    let (a, b) = (stand_in_binary(work.path(), "a"), stand_in_binary(work.path(), "b"));
    let pack = |binary: &Path, name: &str| {
        let dir = work.path().join(name);
        let out = package_binary(binary, &dir, &[], &[]);
        assert_eq!(out.code, 0, "package.sh failed:\n{}", out.all());
        dir
    };
    let (first, again, rebuilt) = (pack(&a, "first"), pack(&a, "again"), pack(&b, "rebuilt"));
    assert_eq!(zip_bytes(&first), zip_bytes(&again), "the same binary packs to the same bytes");
    assert_ne!(zip_bytes(&first), zip_bytes(&rebuilt), "another binary packs to another zip");

    // A checkout initialised with the first build...
    let checkout = fresh_checkout(&first.join("mirror"));
    let rc = checkout.path().join("terraformrc");
    let out = terraform_in(checkout.path(), &rc, &["init", "-input=false", "-no-color"]);
    assert_eq!(out.code, 0, "init failed:\n{}", out.all());
    let lock_path = checkout.path().join(".terraform.lock.hcl");
    let first_hashes = h1_hashes(&std::fs::read_to_string(&lock_path).expect("lock"));

    // ...refuses the rebuilt one under the same version: its lock file pins the first build.
    std::fs::write(&rc, mirror_cli_config(&rebuilt.join("mirror"), None)).expect("cli config");
    std::fs::remove_dir_all(checkout.path().join(".terraform")).expect("remove .terraform");
    let out = terraform_in(checkout.path(), &rc, &["init", "-input=false", "-no-color"]);
    assert_eq!(out.code, 1, "init accepted a package the lock file does not name:\n{}", out.all());
    assert!(out.all().contains("doesn't match any of the checksums"), "{}", out.all());

    // Initialised again from scratch (what `make demo` does when the build changed), it installs
    // the rebuilt one and records its hash.
    std::fs::remove_file(&lock_path).expect("remove lock file");
    let out = terraform_in(checkout.path(), &rc, &["init", "-input=false", "-no-color"]);
    assert_eq!(out.code, 0, "init failed:\n{}", out.all());
    let rebuilt_hashes = h1_hashes(&std::fs::read_to_string(&lock_path).expect("lock"));
    assert_eq!(rebuilt_hashes.len(), 1);
    assert_ne!(first_hashes, rebuilt_hashes, "the rebuilt package has another h1: hash");
}
