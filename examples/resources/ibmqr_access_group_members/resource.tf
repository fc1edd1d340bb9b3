# Everyone in the ML project, and nobody else: members added by hand are removed at the next apply.
resource "ibmqr_access_group" "ml" {
  name = "project-ml"
}

resource "ibmqr_access_group_members" "ml" {
  access_group_id = ibmqr_access_group.ml.id
  iam_ids         = ["IBMid-6900012ABC", "IBMid-6900034DEF"]
  service_ids     = ["iam-ServiceId-2c4e6a8b-1d3f-4a5b-9c7d-0e1f2a3b4c5d"]
}
