# The root module of an adoption: only the provider. `terraform query` reads the list blocks of
# adopt.tfquery.hcl beside it; `terraform query -generate-config-out=generated.tf` writes the
# import blocks and configuration of everything it finds (Terraform 1.14+). Credentials:
# IC_API_KEY (and IBMQR_ENDPOINT against the emulator). See
# docs/guides/adopting-an-existing-account.md.

terraform {
  required_providers {
    ibmqr = {
      source = "ibmqr/ibmqr"
    }
  }
}

provider "ibmqr" {}
