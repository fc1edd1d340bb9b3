# The two commands of the README: `make demo` and `make test`.
SHELL := /bin/bash
.PHONY: demo test build terraform clean bench docs

terraform:
	bash scripts/install-terraform.sh

build:
	cargo build --release --bins

# Applies examples/quickstart against a freshly started emulator whose state lives in .demo/.
demo: terraform build
	bash scripts/demo.sh

# Unit tests once, then the end-to-end tests that drive real Terraform against the emulator, on
# Terraform 1.0.3 and again on 1.15.5 (scripts/test.sh).
test: terraform
	bash scripts/test.sh

# Writes docs/ from the provider's schemas and examples/ (tests/e2e/docs.rs checks it is current).
docs:
	cargo run --quiet --bin ibmqr-docs

bench: terraform build
	bash scripts/bench.sh

clean:
	rm -rf .demo target
