# The campus variant of the guide: the university's SAML IdP federated directly with the account
# through the IBM Cloud SAML service provider. The campus IdP's admin releases a "project"
# assertion; dynamic rules of the IdP's realm put each person in their project's group at login.
# Credentials: IC_API_KEY (and IBMQR_ENDPOINT against the local emulator).

terraform {
  required_providers {
    ibmqr = {
      source = "ibmqr/ibmqr"
    }
  }
}

provider "ibmqr" {}

variable "idp_signing_certificate" {
  description = "The campus IdP's signing certificate (PEM body)."
  type        = string
  default     = "MIIDazCCAlOgAwIBAgIUexampleCampusIdPSigningCertificate"
}

# The alias in the account's login URL; IBM may ask for it before the first identity provider.
resource "ibmqr_account_settings" "this" {
  login_alias = "qiskit-campus"
}

resource "ibmqr_identity_provider" "campus" {
  name       = "University SSO"
  type       = "saml"
  onboarding = "static"

  saml {
    entity_id            = "https://idp.example.edu/idp/shibboleth"
    sso_url              = "https://idp.example.edu/idp/profile/SAML2/Redirect/SSO"
    signing_certificates = [var.idp_signing_certificate]
    # eduPersonEntitlement carries the projects; IAM sees it as the claim "project".
    claims = {
      project = "urn:oid:1.3.6.1.4.1.5923.1.1.1.7"
    }
  }

  depends_on = [ibmqr_account_settings.this]
}

locals {
  # CONTAINS matches substrings: project names must not contain one another.
  projects = ["proj-ml", "proj-chem"]
}

resource "ibmqr_access_group" "project" {
  for_each    = toset(local.projects)
  name        = each.key
  description = "Campus members of ${each.key}"
}

resource "ibmqr_access_group_dynamic_rule" "project" {
  for_each         = toset(local.projects)
  access_group_id  = ibmqr_access_group.project[each.key].id
  name             = "${each.key}-members"
  realm            = ibmqr_identity_provider.campus.realm
  expiration_hours = 12

  condition {
    claim    = "project"
    operator = "CONTAINS"
    value    = each.key
  }
}

output "login_url" {
  value = ibmqr_identity_provider.campus.login_url
}

# Give this file to the campus IdP's admin: it describes IBM Cloud as a service provider.
output "sp_metadata" {
  value = ibmqr_identity_provider.campus.sp_metadata
}
