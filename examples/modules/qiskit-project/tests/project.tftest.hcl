# `terraform test` (Terraform 1.6+) applies the module for real and destroys everything at the
# end. Against the local emulator: start `ibmqr-emulator`, then set IBMQR_ENDPOINT to its URL and
# IC_API_KEY to its API key (docs/guides/testing-modules-without-a-cloud-account.md).

provider "ibmqr" {}

run "setup" {
  module {
    source = "./tests/setup"
  }
}

run "one_instance_with_people_service_ids_and_a_rule" {
  variables {
    name             = "tftest-physics"
    description      = "Physics department"
    instance_ids     = [run.setup.instance_crn]
    custom_role_crns = [run.setup.role_crn]
    member_emails    = ["ada@example.edu", "alan@example.edu"]
    service_ids      = ["iam-ServiceId-11111111-2222-4333-8444-555555555555"]
    federated_rule = {
      realm = "appid://AppID-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
      claim = "department"
      value = "physics"
    }
  }

  assert {
    condition     = startswith(output.group_id, "AccessGroupId-")
    error_message = "group_id is not an access group ID: ${output.group_id}"
  }

  assert {
    condition     = ibmqr_access_group.project.name == "tftest-physics"
    error_message = "the group is not named after the project"
  }

  assert {
    condition     = length(output.policy_ids) == 1
    error_message = "one policy for the one instance"
  }

  assert {
    condition     = ibmqr_access_group_policy.instance[0].roles == toset(["Viewer", run.setup.role_crn])
    error_message = "the policy grants Viewer and the custom role"
  }

  assert {
    condition     = keys(output.member_iam_ids) == ["ada@example.edu", "alan@example.edu"]
    error_message = "every invited person has an IAM ID output"
  }

  assert {
    condition     = alltrue([for id in values(output.member_iam_ids) : startswith(id, "IBMid-")])
    error_message = "invited people's IAM IDs are IBMids"
  }

  assert {
    condition     = length(ibmqr_access_group_member.service_id) == 1
    error_message = "the service ID is a member"
  }

  assert {
    condition     = ibmqr_access_group_dynamic_rule.federated[0].condition[0].value == "physics"
    error_message = "the federated rule tests the claim's value"
  }
}

run "a_resource_group_and_nobody_yet" {
  variables {
    name               = "tftest-teaching"
    resource_group_ids = [run.setup.resource_group_id]
  }

  assert {
    condition     = length(output.policy_ids) == 1 && ibmqr_access_group_policy.resource_group[0].resource[0].resource_group_id == run.setup.resource_group_id
    error_message = "one policy on the resource group"
  }

  assert {
    condition     = output.member_iam_ids == {}
    error_message = "nobody invited"
  }

  assert {
    condition     = length(ibmqr_access_group_dynamic_rule.federated) == 0
    error_message = "no federated rule without federated_rule"
  }
}
