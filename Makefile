# The two commands of the README: `make demo` and `make test`.
SHELL := /bin/bash
.PHONY: demo test build release release-build terraform clean bench docs fuzz

terraform:
	bash scripts/install-terraform.sh

# The dev profile: quick to compile on a small machine, and the one `make test` builds too, so the
# dependencies compile once. Fat LTO belongs to the release profile only (`make release`).
build:
	cargo build --bins

# Both binaries in the release profile (fat LTO, smallest binary), for `make release` and `make bench`.
release-build:
	cargo build --release --bins

# Applies examples/quickstart against a freshly started emulator whose state lives in .demo/,
# with the binaries of `make build` (target/debug).
demo: terraform build
	bash scripts/demo.sh target/debug

# Release archives in dist/ for VERSION (default: Cargo.toml's, which must match): the zip, manifest,
# SHA256SUMS (and its .sig when IBMQR_GPG_KEY names a gpg key) and a filesystem mirror in
# dist/mirror. linux_amd64 only (scripts/package.sh).
release: release-build
	rm -rf dist
	bash scripts/package.sh --binary target/release/terraform-provider-ibmqr --out dist --mirror dist/mirror $(if $(VERSION),--version $(VERSION))

# Unit tests once, then the end-to-end tests that drive real Terraform against the emulator, on
# Terraform 1.0.3 and again on 1.15.5 (scripts/test.sh).
test: terraform
	bash scripts/test.sh

# Each fuzz target for FUZZ_SECONDS (default 60) with cargo-fuzz, from its checked-in corpus in
# fuzz/corpus/; crashes land in fuzz/artifacts/. Not part of `make test`, which only replays the
# corpus (scripts/fuzz.sh, CONTRIBUTING.md).
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh

# Writes docs/ from the provider's schemas and examples/ (tests/e2e/docs.rs checks it is current).
docs:
	cargo run --quiet --bin ibmqr-docs

# Release binaries: the figures are the shipped build's (size, start-up, CPU).
bench: terraform release-build
	bash scripts/bench.sh

clean:
	rm -rf .demo dist target fuzz/target fuzz/work
