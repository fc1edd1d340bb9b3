# In a file ending in .tfquery.hcl, beside the configuration that declares the provider.
list "ibmqr_access_group" "projects" {
  provider         = ibmqr
  include_resource = true
  limit            = 1000

  config {
    name_prefix = "qiskit-"
  }
}
