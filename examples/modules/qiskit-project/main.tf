# One research project: an access group, Viewer plus the given custom roles on the project's
# instances (or on every instance of a resource group), the people invited into it, its service
# IDs, and optionally a dynamic rule for federated users.

locals {
  roles = concat(["Viewer"], var.custom_role_crns)
}

resource "ibmqr_access_group" "project" {
  name        = var.name
  description = var.description
}

# `count`, not `for_each`: instance and resource group IDs are often those of objects made in the
# same apply, not known at plan time.
resource "ibmqr_access_group_policy" "instance" {
  count           = length(var.instance_ids)
  access_group_id = ibmqr_access_group.project.id
  roles           = local.roles

  resource {
    instance_id = var.instance_ids[count.index]
  }
}

resource "ibmqr_access_group_policy" "resource_group" {
  count           = length(var.resource_group_ids)
  access_group_id = ibmqr_access_group.project.id
  roles           = local.roles

  resource {
    resource_group_id = var.resource_group_ids[count.index]
  }
}

resource "ibmqr_user_invite" "member" {
  for_each         = var.member_emails
  email            = each.value
  access_group_ids = [ibmqr_access_group.project.id]
}

# Additive memberships, so that the invitations above keep their own.
resource "ibmqr_access_group_member" "service_id" {
  for_each        = var.service_ids
  access_group_id = ibmqr_access_group.project.id
  iam_id          = each.value
}

resource "ibmqr_access_group_dynamic_rule" "federated" {
  count            = var.federated_rule == null ? 0 : 1
  access_group_id  = ibmqr_access_group.project.id
  name             = "${var.name}-federated"
  realm            = var.federated_rule.realm
  expiration_hours = var.federated_rule_expiration_hours

  condition {
    claim    = var.federated_rule.claim
    operator = "EQUALS"
    value    = var.federated_rule.value
  }
}
