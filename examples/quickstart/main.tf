# IBM's "Configure Qiskit Runtime for an organization" guide, as code, for a company with two
# projects: "ml" (an Open-plan instance) and "chem" (a Premium instance with an allocation and a
# backend allow-list). Credentials: IC_API_KEY. Against the local emulator, also IBMQR_ENDPOINT
# (`make demo` sets both).

terraform {
  required_providers {
    ibmqr = {
      source = "ibmqr/ibmqr"
    }
  }
}

provider "ibmqr" {}

# Step 1: account settings. Users see only the users they invited; everyone may create the API
# keys they need for Qiskit.
resource "ibmqr_account_settings" "this" {
  user_list_visibility = "restricted"
  api_key_creation     = "unrestricted"
}

# Step 2: one resource group for the quantum instances.
resource "ibmqr_resource_group" "quantum" {
  name = "quantum"
}

# Step 3: one instance per project.
resource "ibmqr_instance" "ml" {
  name              = "qr-ml"
  plan              = "open"
  region            = "us-east"
  resource_group_id = ibmqr_resource_group.quantum.id
  tags              = ["project:ml"]
  purge_on_destroy  = true
}

resource "ibmqr_instance" "chem" {
  name                     = "qr-chem"
  plan                     = "premium"
  region                   = "us-east"
  resource_group_id        = ibmqr_resource_group.quantum.id
  tags                     = ["project:chem"]
  usage_allocation_seconds = 36000
  backends                 = ["ibm_fez", "ibm_torino"]
  purge_on_destroy         = true
}

# Step 4: custom roles. Members run and follow their work; leads may also delete jobs.
locals {
  reader_actions = [
    "quantum-computing.device.read",
    "quantum-computing.instance.configuration.read",
    "quantum-computing.instance-usage.read",
    "quantum-computing.instance.read",
    "quantum-computing.job.read",
    "quantum-computing.session.read",
    "quantum-computing.workload.list",
  ]
  member_actions = concat(local.reader_actions, [
    "quantum-computing.job.cancel",
    "quantum-computing.job.create",
    "quantum-computing.session.create",
    "quantum-computing.session.update",
  ])
  projects = {
    ml   = ibmqr_instance.ml.crn
    chem = ibmqr_instance.chem.crn
  }
}

resource "ibmqr_custom_role" "member" {
  name         = "QiskitRuntimeUser"
  display_name = "Qiskit Runtime user"
  description  = "Runs jobs and sessions on the project's instances"
  actions      = local.member_actions
}

resource "ibmqr_custom_role" "admin" {
  name         = "QiskitRuntimeAdmin"
  display_name = "Qiskit Runtime admin"
  description  = "Project lead: member rights plus job deletion"
  actions      = concat(local.member_actions, ["quantum-computing.job.delete"])
}

# Steps 5 and 6: one access group per project, with Viewer plus the member role on its instance.
resource "ibmqr_access_group" "project" {
  for_each    = local.projects
  name        = "project-${each.key}"
  description = "Members of the ${each.key} project"
}

resource "ibmqr_access_group_policy" "project" {
  for_each        = local.projects
  access_group_id = ibmqr_access_group.project[each.key].id
  roles           = ["Viewer", ibmqr_custom_role.member.crn]

  resource {
    instance_id = each.value
  }
}

# Step 8: people with IBMids, invited into their project's group.
resource "ibmqr_user_invite" "fatima" {
  email            = "fatima@example.edu"
  access_group_ids = [ibmqr_access_group.project["ml"].id]
}

resource "ibmqr_user_invite" "ravi" {
  email            = "ravi@example.edu"
  access_group_ids = [ibmqr_access_group.project["chem"].id]
}

# A CI pipeline's service ID runs jobs for the chem project.
resource "ibmqr_access_group_member" "chem_ci" {
  access_group_id = ibmqr_access_group.project["chem"].id
  iam_id          = "iam-ServiceId-2c4e6a8b-1d3f-4a5b-9c7d-0e1f2a3b4c5d"
}

# Steps 9 and 10: a federated project for people without IBM Cloud accounts. An App ID directory
# holds them, each with the projects that decide their groups at login; the directory is the
# account's identity provider, and dynamic rules of its realm match the "project" claim.
# CONTAINS matches substrings: project names must not contain one another (proj-ml, proj-chem).
resource "ibmqr_appid_directory" "campus" {
  name              = "campus-users"
  region            = "us-east"
  resource_group_id = ibmqr_resource_group.quantum.id
  purge_on_destroy  = true
}

resource "ibmqr_appid_user" "ada" {
  directory_id = ibmqr_appid_directory.campus.id
  email        = "ada@example.edu"
  given_name   = "Ada"
  family_name  = "Lovelace"
  projects     = ["proj-ml"]
}

resource "ibmqr_appid_user" "kofi" {
  directory_id = ibmqr_appid_directory.campus.id
  email        = "kofi@example.edu"
  given_name   = "Kofi"
  family_name  = "Mensah"
  projects     = ["proj-chem"]
}

resource "ibmqr_identity_provider" "campus" {
  name               = "Campus (App ID)"
  type               = "appid"
  appid_directory_id = ibmqr_appid_directory.campus.id
  onboarding         = "static"
}

resource "ibmqr_access_group_dynamic_rule" "project" {
  for_each         = local.projects
  access_group_id  = ibmqr_access_group.project[each.key].id
  name             = "proj-${each.key}-members"
  realm            = ibmqr_identity_provider.campus.realm
  expiration_hours = 12

  condition {
    claim    = "project"
    operator = "CONTAINS"
    value    = "proj-${each.key}"
  }
}

data "ibmqr_account" "this" {}

output "account_id" {
  value = data.ibmqr_account.this.account_id
}

output "instances" {
  value = { for k, crn in local.projects : k => crn }
}

output "access_groups" {
  value = { for k, g in ibmqr_access_group.project : k => g.id }
}

output "member_role_crn" {
  value = ibmqr_custom_role.member.crn
}

output "federated_login_url" {
  description = "Where the App ID users log in (they set their password through \"Forgot password?\" first)."
  value       = ibmqr_identity_provider.campus.login_url
}
