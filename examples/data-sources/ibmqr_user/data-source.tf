# Ada has logged in once through the App ID identity provider: give her a static membership too.
data "ibmqr_user" "ada" {
  email = "ada@example.edu"
  realm = ibmqr_identity_provider.campus.realm
}

resource "ibmqr_access_group_member" "ada_admins" {
  access_group_id = ibmqr_access_group.admins.id
  iam_id          = data.ibmqr_user.ada.iam_id
}
