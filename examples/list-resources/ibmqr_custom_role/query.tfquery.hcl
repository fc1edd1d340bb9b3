# In a file ending in .tfquery.hcl, beside the configuration that declares the provider.
list "ibmqr_custom_role" "qiskit" {
  provider         = ibmqr
  include_resource = true

  config {
    service = "quantum-computing"
  }
}
