# The account's default resource group, and a group by name.
data "ibmqr_resource_group" "default" {
  is_default = true
}

data "ibmqr_resource_group" "ml" {
  name = "quantum-ml"
}
