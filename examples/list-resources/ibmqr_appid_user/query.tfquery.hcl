# In a file ending in .tfquery.hcl, beside the configuration that declares the provider.
# Without `config`, the users of every App ID directory.
list "ibmqr_appid_user" "students" {
  provider         = ibmqr
  include_resource = true
  limit            = 10000

  config {
    directory_id = "crn:v1:bluemix:public:appid:us-south:a/0bae863b1df44b9e99f58734da909ab9:2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f::"
  }
}
