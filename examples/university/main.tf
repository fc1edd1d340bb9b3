# A university with three research projects, each an instance of the qiskit-project module:
# physics and chemistry have an instance each, teaching uses every instance of a resource group.
# The three share one custom role for their members and one admin role for their leads' group.
# Credentials: IC_API_KEY; against the local emulator, also IBMQR_ENDPOINT.

terraform {
  required_version = ">= 1.0"

  required_providers {
    ibmqr = {
      source  = "ibmqr/ibmqr"
      version = ">= 0.2.0, < 1.0.0"
    }
  }
}

provider "ibmqr" {}

resource "ibmqr_resource_group" "quantum" {
  name = "university-quantum"
}

resource "ibmqr_resource_group" "teaching" {
  name = "university-teaching"
}

resource "ibmqr_instance" "physics" {
  name              = "physics"
  plan              = "open"
  region            = "us-east"
  resource_group_id = ibmqr_resource_group.quantum.id
  purge_on_destroy  = true
}

resource "ibmqr_instance" "chemistry" {
  name                     = "chemistry"
  plan                     = "premium"
  region                   = "us-east"
  resource_group_id        = ibmqr_resource_group.quantum.id
  usage_allocation_seconds = 36000
  purge_on_destroy         = true
}

resource "ibmqr_instance" "teaching" {
  name              = "teaching-lab"
  plan              = "open"
  region            = "us-east"
  resource_group_id = ibmqr_resource_group.teaching.id
  purge_on_destroy  = true
}

# Members run jobs and sessions; the admin role, shared by every project, also deletes jobs.
locals {
  member_actions = [
    "quantum-computing.device.read",
    "quantum-computing.instance.read",
    "quantum-computing.job.create",
    "quantum-computing.job.read",
    "quantum-computing.session.create",
    "quantum-computing.session.read",
  ]
}

resource "ibmqr_custom_role" "member" {
  name         = "UniversityQuantumMember"
  display_name = "University quantum member"
  actions      = local.member_actions
}

resource "ibmqr_custom_role" "admin" {
  name         = "UniversityQuantumAdmin"
  display_name = "University quantum admin"
  description  = "Project leads: member rights plus job deletion"
  actions      = concat(local.member_actions, ["quantum-computing.job.cancel", "quantum-computing.job.delete"])
}

module "physics" {
  source = "../modules/qiskit-project"

  name             = "physics"
  description      = "Quantum simulation of materials"
  instance_ids     = [ibmqr_instance.physics.crn]
  custom_role_crns = [ibmqr_custom_role.member.crn]
  member_emails    = ["marie@example.edu", "niels@example.edu"]
  service_ids      = ["iam-ServiceId-7a1b2c3d-4e5f-4061-8a7b-9c0d1e2f3a4b"]
}

module "chemistry" {
  source = "../modules/qiskit-project"

  name             = "chemistry"
  description      = "Molecular ground states"
  instance_ids     = [ibmqr_instance.chemistry.crn]
  custom_role_crns = [ibmqr_custom_role.member.crn]
  member_emails    = ["dorothy@example.edu"]
}

module "teaching" {
  source = "../modules/qiskit-project"

  name               = "teaching"
  description        = "Students of the quantum computing course"
  resource_group_ids = [ibmqr_resource_group.teaching.id]
  custom_role_crns   = [ibmqr_custom_role.member.crn]
  # Students log in through the university's identity provider; those enrolled join at login.
  federated_rule = {
    realm = "appid://AppID-5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"
    claim = "course"
    value = "quantum-101"
  }
}

# The leads of all three projects: one group with the shared admin role on every project.
module "leads" {
  source = "../modules/qiskit-project"

  name               = "project-leads"
  description        = "Leads of the physics, chemistry and teaching projects"
  instance_ids       = [ibmqr_instance.physics.crn, ibmqr_instance.chemistry.crn]
  resource_group_ids = [ibmqr_resource_group.teaching.id]
  custom_role_crns   = [ibmqr_custom_role.admin.crn]
  member_emails      = ["lise@example.edu"]
}

output "groups" {
  value = {
    physics   = module.physics.group_id
    chemistry = module.chemistry.group_id
    teaching  = module.teaching.group_id
    leads     = module.leads.group_id
  }
}

output "people" {
  value = merge(module.physics.member_iam_ids, module.chemistry.member_iam_ids, module.leads.member_iam_ids)
}
