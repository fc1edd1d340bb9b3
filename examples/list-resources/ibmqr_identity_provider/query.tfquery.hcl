# In a file ending in .tfquery.hcl, beside the configuration that declares the provider.
list "ibmqr_identity_provider" "all" {
  provider         = ibmqr
  include_resource = true
}
