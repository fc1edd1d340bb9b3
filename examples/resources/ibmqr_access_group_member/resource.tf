# Adds one service ID to a group managed elsewhere; other members are left alone.
resource "ibmqr_access_group_member" "ci" {
  access_group_id = "AccessGroupId-6f1c2a1e-3d4b-4c5a-9e8f-0a1b2c3d4e5f"
  iam_id          = "iam-ServiceId-2c4e6a8b-1d3f-4a5b-9c7d-0e1f2a3b4c5d"
}
