# In a file ending in .tfquery.hcl, beside the configuration that declares the provider.
list "ibmqr_appid_directory" "all" {
  provider         = ibmqr
  include_resource = true
}
