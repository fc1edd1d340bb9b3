output "group_id" {
  description = "The project's access group ID (`AccessGroupId-...`)."
  value       = ibmqr_access_group.project.id
}

output "policy_ids" {
  description = "The IDs of the project's policies: one per instance, in the order of `instance_ids`, then one per resource group."
  value       = concat(ibmqr_access_group_policy.instance[*].id, ibmqr_access_group_policy.resource_group[*].id)
}

output "member_iam_ids" {
  description = "The invited people's IAM IDs (`IBMid-...`), by email."
  value       = { for email, invite in ibmqr_user_invite.member : email => invite.iam_id }
}
