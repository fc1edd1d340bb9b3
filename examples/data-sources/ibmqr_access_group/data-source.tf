# An access group created outside this configuration, found by name.
data "ibmqr_access_group" "admins" {
  name = "IBM Quantum Administrators"
}

output "admins_group_id" {
  value = data.ibmqr_access_group.admins.id
}
