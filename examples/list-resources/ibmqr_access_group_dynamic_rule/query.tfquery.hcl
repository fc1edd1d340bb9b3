# In a file ending in .tfquery.hcl, beside the configuration that declares the provider.
# Without `config`, the rules of every access group.
list "ibmqr_access_group_dynamic_rule" "all" {
  provider         = ibmqr
  include_resource = true
  limit            = 1000
}
