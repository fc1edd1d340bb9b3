# In a file ending in .tfquery.hcl, beside the configuration that declares the provider.
# Service IDs and trusted profiles only: people come out as ibmqr_user_invite.
list "ibmqr_access_group_member" "ml" {
  provider         = ibmqr
  include_resource = true

  config {
    access_group_id = "AccessGroupId-5f3c1b2a-8d4e-4f6a-9b7c-1d2e3f4a5b6c"
  }
}
