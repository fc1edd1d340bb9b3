//! Replays the checked-in corpus of every fuzz target (fuzz/corpus/<target>/) on the stable
//! toolchain: each input must run without a panic. A missing or empty corpus fails.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use terraform_provider_ibmqr::fuzzing::{seeds, TARGETS};

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target)
}

#[test]
fn every_corpus_input_runs_without_a_panic() {
    let mut failures = Vec::new();
    for (target, run) in TARGETS {
        let dir = corpus_dir(target);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.is_file())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{} holds no inputs", dir.display());
        for file in &files {
            let input = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            if catch_unwind(AssertUnwindSafe(|| run(&input))).is_err() {
                failures.push(file.display().to_string());
            }
        }
        println!("{target}: replayed {} inputs", files.len());
    }
    assert!(failures.is_empty(), "inputs that panicked:\n{}", failures.join("\n"));
}

/// Writes the hand-written seeds of src/fuzzing.rs to fuzz/corpus/<target>/seed-<name>:
/// `cargo test --test fuzz_corpus -- --ignored write_seeds`.
#[test]
#[ignore = "writes the seed files; run by hand after changing the seeds"]
fn write_seeds() {
    for (target, name, bytes) in seeds() {
        let dir = corpus_dir(target);
        std::fs::create_dir_all(&dir).expect("the corpus directory");
        std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("a seed file");
    }
}
