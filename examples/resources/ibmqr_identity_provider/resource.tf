# The App ID directory as the account's identity provider; rules of its realm match "project".
resource "ibmqr_identity_provider" "campus" {
  name               = "Campus (App ID)"
  type               = "appid"
  appid_directory_id = ibmqr_appid_directory.campus.id
  onboarding         = "static"
  default_for_login  = false
}

resource "ibmqr_access_group_dynamic_rule" "ml" {
  access_group_id  = ibmqr_access_group.ml.id
  name             = "project-ml"
  realm            = ibmqr_identity_provider.campus.realm
  expiration_hours = 12

  condition {
    claim    = "project"
    operator = "CONTAINS"
    value    = "ml"
  }
}

output "login_url" {
  value = ibmqr_identity_provider.campus.login_url
}
