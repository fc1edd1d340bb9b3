terraform {
  required_providers {
    ibmqr = {
      source = "ibmqr/ibmqr"
    }
  }
}

# Credentials come from IC_API_KEY (or IBMCLOUD_API_KEY); the account is the API key's own.
provider "ibmqr" {
  region = "us-east"

  # Optional: point every API at a local emulator or private endpoints.
  # endpoints {
  #   iam        = "https://private.iam.cloud.ibm.com"
  #   iam_policy = "https://private.iam.cloud.ibm.com"
  # }
}
