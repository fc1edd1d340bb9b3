//! No secret shows anywhere a CI machine keeps it. The quickstart (federation included) runs as a
//! careful user runs it: the API key in `IC_API_KEY`, an App ID user's initial password through
//! an ephemeral variable into `password_wo` (Terraform 1.11+), and `TF_LOG=trace` throughout.
//! Then every output of every command, the state and its backup, the saved plan (raw and
//! unpacked), and any crash log are searched for every credential the emulator saw: the API key,
//! each bearer and refresh token it issued, and each App ID password it received (the provider's
//! random sign-up passwords too), each in plain, base64 and URL-encoded forms.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;

use crate::harness::{files_under, terraform_has, terraform_version, unpack_saved_plan, Emulator, Workspace, API_KEY};

/// The written password: characters that URL-encoding changes, so that form is searched for too.
const WRITE_ONLY_PASSWORD: &str = "Grace wr1te-only p@ss/wd+=&?!";

/// Where the list of what was searched is written (under cargo's target/tmp), for scripts/test.sh.
const REPORT_FILE: &str = "secrets-searched.txt";

/// The forms a secret can take inside a longer text, each with its name.
fn disguises(secret: &str) -> Vec<(&'static str, String)> {
    let mut forms = vec![("plain", secret.to_string())];
    // A secret inside a longer base64 text starts at one of three byte offsets; at each, only the
    // characters made of the secret's bits alone are certain, so those are what is searched.
    for (engine_name, engine) in [("base64", &STANDARD_NO_PAD), ("base64url", &URL_SAFE_NO_PAD)] {
        for offset in 0..3usize {
            let mut bytes = vec![0u8; offset];
            bytes.extend_from_slice(secret.as_bytes());
            let encoded = engine.encode(&bytes);
            let skip = [0, 2, 3][offset];
            let end = if bytes.len() % 3 == 0 { encoded.len() } else { encoded.len() - 1 };
            forms.push((engine_name, encoded[skip..end].to_string()));
        }
    }
    let form_encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let percent_encoded: String = secret
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect();
    forms.push(("form-urlencoded", form_encoded));
    forms.push(("percent-encoded", percent_encoded.clone()));
    forms.push(("percent-encoded", percent_encoded.to_ascii_lowercase()));
    let mut seen = std::collections::BTreeSet::new();
    forms.retain(|(_, text)| seen.insert(text.clone()));
    forms
}

fn search(outputs: &[(String, Vec<u8>)], credentials: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut hits = Vec::new();
    for (kind, values) in credentials {
        for (n, secret) in values.iter().enumerate() {
            for (form, needle) in disguises(secret) {
                for (what, bytes) in outputs {
                    if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                        hits.push(format!("{kind} #{n} ({form}: {needle}) in {what}"));
                    }
                }
            }
        }
    }
    hits
}

#[test]
fn quickstart_under_trace_logging_leaks_no_credential() {
    let emu = Emulator::start();
    let mut ws = Workspace::new(&emu);
    ws.copy_config_from(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart"));
    let with_password = terraform_has((1, 11), "write-only attributes", "only the random sign-up passwords");
    if with_password {
        let grace = r#"
variable "grace_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "ibmqr_appid_user" "grace" {
  directory_id        = ibmqr_appid_directory.campus.id
  email               = "grace@example.edu"
  projects            = ["proj-chem"]
  password_wo         = var.grace_password
  password_wo_version = 1
}
"#;
        std::fs::write(ws.path().join("grace.tf"), grace).expect("grace.tf");
        ws.extra_env.push(("TF_VAR_grace_password".into(), WRITE_ONLY_PASSWORD.into()));
    }
    ws.extra_env.push(("TF_LOG".into(), "trace".into()));

    let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();
    let steps: [&[&str]; 8] = [
        &["init", "-input=false", "-no-color"],
        &["plan", "-out=quickstart.tfplan", "-input=false", "-no-color"],
        &["show", "-json", "-no-color", "quickstart.tfplan"],
        &["apply", "-input=false", "-no-color", "quickstart.tfplan"],
        &["plan", "-detailed-exitcode", "-input=false", "-no-color"],
        &["show", "-json", "-no-color"],
        &["output", "-json", "-no-color"],
        &["state", "pull"],
    ];
    for args in steps {
        let out = ws.terraform(args);
        assert_eq!(out.code, 0, "terraform {args:?} failed:\n{}", out.all());
        outputs.push((format!("stdout of terraform {}", args[0..2].join(" ")), out.stdout.into_bytes()));
        outputs.push((format!("stderr of terraform {}", args[0..2].join(" ")), out.stderr.into_bytes()));
    }
    // The saved plan, raw and unpacked, and the state before destroy empties it.
    unpack_saved_plan(&ws.path().join("quickstart.tfplan"), &ws.path().join("quickstart.tfplan.unpacked"));
    let before_destroy = files_under(ws.path());
    let out = ws.terraform(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
    assert_eq!(out.code, 0, "destroy failed:\n{}", out.all());
    outputs.push(("stdout of terraform destroy".into(), out.stdout.into_bytes()));
    outputs.push(("stderr of terraform destroy".into(), out.stderr.into_bytes()));
    let mut files = before_destroy;
    files.extend(files_under(ws.path()));
    files.sort();
    files.dedup();
    for path in &files {
        let name = path.strip_prefix(ws.path()).expect("under the workspace").display().to_string();
        // Read once more after destroy: a file that changed is searched as it is now, and the
        // state as it was is in the unpacked plan, `state pull` and `show -json` outputs.
        if let Ok(bytes) = std::fs::read(path) {
            outputs.push((format!("file {name}"), bytes));
        }
    }
    let names: Vec<&str> = outputs.iter().map(|(what, _)| what.as_str()).collect();
    for needed in ["file terraform.tfstate", "file quickstart.tfplan", "file quickstart.tfplan.unpacked/tfplan"] {
        assert!(names.contains(&needed), "{needed} was not searched: {names:?}");
    }
    let trace_lines =
        outputs.iter().filter(|(what, _)| what.starts_with("stderr")).map(|(_, b)| b.split(|c| *c == b'\n').count()).sum::<usize>();
    assert!(trace_lines > 10_000, "TF_LOG=trace wrote only {trace_lines} lines: was it on?");

    let credentials: BTreeMap<String, Vec<String>> = serde_json::from_value(emu.credentials_seen()).expect("credentials by kind");
    assert_eq!(credentials.get("api_key").map(Vec::as_slice), Some([API_KEY.to_string()].as_slice()), "the key the provider used");
    for kind in ["access_token", "refresh_token"] {
        assert!(credentials.get(kind).is_some_and(|v| !v.is_empty()), "no {kind} was issued: {credentials:?}");
    }
    let passwords = credentials.get("password").cloned().unwrap_or_default();
    // Ada's and Kofi's random sign-up passwords, and Grace's written one.
    assert_eq!(passwords.len(), if with_password { 3 } else { 2 }, "passwords the emulator received");
    assert_eq!(passwords.contains(&WRITE_ONLY_PASSWORD.to_string()), with_password);

    let hits = search(&outputs, &credentials);
    let (major, minor, patch) = terraform_version();
    let mut report = format!(
        "secrets on Terraform {major}.{minor}.{patch}: searched {} outputs ({} bytes) for {} credentials in up to {} forms each:\n",
        outputs.len(),
        outputs.iter().map(|(_, b)| b.len()).sum::<usize>(),
        credentials.values().map(Vec::len).sum::<usize>(),
        disguises(WRITE_ONLY_PASSWORD).len(),
    );
    for (what, bytes) in &outputs {
        report.push_str(&format!("  {what}: {} bytes\n", bytes.len()));
    }
    report.push_str(&format!("  hits: {}\n", hits.len()));
    std::fs::write(Path::new(env!("CARGO_TARGET_TMPDIR")).join(REPORT_FILE), &report).expect("report");
    assert!(hits.is_empty(), "credentials leaked:\n{}", hits.join("\n"));
}

#[test]
fn disguises_find_a_secret_inside_longer_encoded_text() {
    let secret = "s3cret/with+symbols=&more";
    let forms = disguises(secret);
    for prefix in ["", "a", "ab", "abc"] {
        let text = format!("{prefix}{secret} trailing");
        for encoded in [STANDARD_NO_PAD.encode(&text), URL_SAFE_NO_PAD.encode(&text)] {
            assert!(forms.iter().any(|(_, f)| encoded.contains(f.as_str())), "missed in {encoded} (prefix {prefix:?})");
        }
    }
    let query: String = url::form_urlencoded::Serializer::new(String::new()).append_pair("apikey", secret).finish();
    assert!(forms.iter().any(|(_, f)| query.contains(f.as_str())), "missed in {query}");
    assert!(!forms.iter().any(|(_, f)| "an innocent text".contains(f.as_str())));
}
