# The two commands of the README: `make demo` and `make test`.
SHELL := /bin/bash
TERRAFORM := $(CURDIR)/.tools/terraform

.PHONY: demo test build terraform clean bench

terraform:
	bash scripts/install-terraform.sh

build:
	cargo build --release --bins

# Applies examples/quickstart against a freshly started emulator whose state lives in .demo/.
demo: terraform build
	bash scripts/demo.sh

# Unit tests plus the end-to-end tests that drive real Terraform against the emulator.
test: terraform
	cargo test --all-targets -- --test-threads=2

bench: terraform build
	bash scripts/bench.sh

clean:
	rm -rf .demo target
