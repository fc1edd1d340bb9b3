# One access group per project; members, dynamic rules and policies attach to it.
resource "ibmqr_access_group" "ml" {
  name        = "project-ml"
  description = "Members of the machine-learning project"
}
