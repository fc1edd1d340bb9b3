# Everything ibmqr manages in an account, each object with its state (include_resource), so that
# `terraform query -generate-config-out=generated.tf` can write its configuration. Limits are
# raised above Terraform's default of 100 objects per list.
#
# Never listed, because destroying them would break the account: IBM's Public Access group, the
# default resource group, the account owner, the caller itself and IBM's built-in roles. A
# person's group memberships come out as their ibmqr_user_invite's access_group_ids; service IDs
# and trusted profiles as ibmqr_access_group_member.

list "ibmqr_resource_group" "all" {
  provider         = ibmqr
  include_resource = true
  limit            = 1000
}

list "ibmqr_instance" "all" {
  provider         = ibmqr
  include_resource = true
  limit            = 1000
}

list "ibmqr_custom_role" "qiskit" {
  provider         = ibmqr
  include_resource = true
  limit            = 1000

  config {
    service = "quantum-computing"
  }
}

list "ibmqr_access_group" "all" {
  provider         = ibmqr
  include_resource = true
  limit            = 1000
}

list "ibmqr_access_group_policy" "all" {
  provider         = ibmqr
  include_resource = true
  limit            = 10000
}

list "ibmqr_access_group_dynamic_rule" "all" {
  provider         = ibmqr
  include_resource = true
  limit            = 10000
}

list "ibmqr_access_group_member" "all" {
  provider         = ibmqr
  include_resource = true
  limit            = 10000
}

list "ibmqr_user_invite" "all" {
  provider         = ibmqr
  include_resource = true
  limit            = 10000
}

# Federation: App ID directories with their Cloud Directory users, and the identity providers.
# IBM never returns a SAML provider's certificates: add them to its generated configuration.
list "ibmqr_appid_directory" "all" {
  provider         = ibmqr
  include_resource = true
  limit            = 1000
}

list "ibmqr_appid_user" "all" {
  provider         = ibmqr
  include_resource = true
  limit            = 10000
}

list "ibmqr_identity_provider" "all" {
  provider         = ibmqr
  include_resource = true
  limit            = 1000
}
