# Project members see the project's instance and run jobs on it through a custom role.
resource "ibmqr_access_group_policy" "project" {
  access_group_id = "AccessGroupId-7f3c2a10-5b6e-4d8f-9a1b-2c3d4e5f6a7b"
  roles           = ["Viewer", ibmqr_custom_role.member.crn]

  resource {
    instance_id = "crn:v1:bluemix:public:quantum-computing:us-east:a/0bae863b1df44b9e99f58734da909ab9:5c4d3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a::"
  }
}
