variable "ada_password" {
  type      = string
  sensitive = true
  ephemeral = true # Terraform 1.10+; password_wo needs Terraform 1.11+
}

# Ada has no IBM Cloud account; her projects put her in the ml and chem groups at login.
resource "ibmqr_appid_user" "ada" {
  directory_id        = ibmqr_appid_directory.campus.id
  email               = "ada@example.edu"
  given_name          = "Ada"
  family_name         = "Lovelace"
  projects            = ["ml", "chem"]
  password_wo         = var.ada_password
  password_wo_version = 1
}
