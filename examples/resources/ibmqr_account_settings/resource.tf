# Users see only the users they invited; members may create their own API keys.
resource "ibmqr_account_settings" "this" {
  user_list_visibility     = "restricted"
  api_key_creation         = "unrestricted"
  invitation_email_domains = ["*@example.edu"]
  login_alias              = "qiskit-campus" # https://cloud.ibm.com/authorize/qiskit-campus
}
