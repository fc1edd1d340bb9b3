# In a file ending in .tfquery.hcl, beside the configuration that declares the provider.
# Each person with the access groups they are a static member of; never the account owner nor
# the caller itself.
list "ibmqr_user_invite" "people" {
  provider         = ibmqr
  include_resource = true
  limit            = 10000
}
