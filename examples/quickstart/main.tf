# Configure Qiskit Runtime for an organization, as code.
# Credentials: IC_API_KEY. Against the local emulator, also IBMQR_ENDPOINT (see `make demo`).

terraform {
  required_providers {
    ibmqr = {
      source = "ibmqr/ibmqr"
    }
  }
}

provider "ibmqr" {}

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
}

# Project members: run and follow their work.
resource "ibmqr_custom_role" "member" {
  name         = "QiskitRuntimeUser"
  display_name = "Qiskit Runtime user"
  description  = "Runs jobs and sessions on the project's instances"
  actions      = local.member_actions
}

# Project leads: what members do, plus deleting jobs.
resource "ibmqr_custom_role" "admin" {
  name         = "QiskitRuntimeAdmin"
  display_name = "Qiskit Runtime admin"
  description  = "Project lead: member rights plus job deletion"
  actions      = concat(local.member_actions, ["quantum-computing.job.delete"])
}

data "ibmqr_account" "this" {}

output "account_id" {
  value = data.ibmqr_account.this.account_id
}

output "member_role_crn" {
  value = ibmqr_custom_role.member.crn
}

output "admin_role_crn" {
  value = ibmqr_custom_role.admin.crn
}
