# Users of the App ID realm whose "project" attribute contains "ml" join the group at login.
resource "ibmqr_access_group_dynamic_rule" "ml" {
  access_group_id  = "AccessGroupId-6f1c2a1e-3d4b-4c5a-9e8f-0a1b2c3d4e5f"
  name             = "project-ml-members"
  realm            = "appid://AppID-4f6a8c0e-2b4d-4e6f-8a0c-2e4f6a8c0e2b"
  expiration_hours = 12

  condition {
    claim    = "project"
    operator = "CONTAINS"
    value    = "ml"
  }

  condition {
    claim    = "department"
    operator = "IN"
    value    = "research,engineering"
  }
}
