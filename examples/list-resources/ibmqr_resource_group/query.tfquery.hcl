# In a file ending in .tfquery.hcl, beside the configuration that declares the provider.
# The default resource group is never listed.
list "ibmqr_resource_group" "all" {
  provider         = ibmqr
  include_resource = true
}
