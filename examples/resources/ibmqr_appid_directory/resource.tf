# An App ID directory for people without IBM Cloud accounts, in the same region as Qiskit Runtime.
resource "ibmqr_appid_directory" "campus" {
  name              = "campus-users"
  region            = "us-east"
  login_field       = "email"
  project_attribute = "project"
}
