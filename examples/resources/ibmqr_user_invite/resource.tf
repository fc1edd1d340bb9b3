# Invites Fatima into the account and into the ML project's access group.
resource "ibmqr_access_group" "ml" {
  name = "project-ml"
}

resource "ibmqr_user_invite" "fatima" {
  email            = "fatima@example.edu"
  access_group_ids = [ibmqr_access_group.ml.id]
}

output "fatima_iam_id" {
  value = ibmqr_user_invite.fatima.iam_id
}
