# What a project needs before the module runs: an instance in a resource group, and a custom role.
terraform {
  required_providers {
    ibmqr = {
      source  = "ibmqr/ibmqr"
      version = ">= 0.2.0, < 1.0.0"
    }
  }
}

resource "ibmqr_resource_group" "test" {
  name = "tftest-quantum"
}

resource "ibmqr_instance" "test" {
  name              = "tftest-instance"
  plan              = "open"
  region            = "us-east"
  resource_group_id = ibmqr_resource_group.test.id
  purge_on_destroy  = true
}

resource "ibmqr_custom_role" "runner" {
  name         = "TftestRunner"
  display_name = "tftest runner"
  actions      = ["quantum-computing.job.create", "quantum-computing.job.read"]
}

output "instance_crn" {
  value = ibmqr_instance.test.crn
}

output "resource_group_id" {
  value = ibmqr_resource_group.test.id
}

output "role_crn" {
  value = ibmqr_custom_role.runner.crn
}
