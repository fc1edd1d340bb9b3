# In a file ending in .tfquery.hcl, beside the configuration that declares the provider.
list "ibmqr_instance" "us_east" {
  provider         = ibmqr
  include_resource = true

  config {
    region            = "us-east"
    resource_group_id = "3f2d9c8b7a6e4d5c8b9a0f1e2d3c4b5a"
  }
}
