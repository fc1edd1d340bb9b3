# An instance by name and region, or by CRN.
data "ibmqr_instance" "ml" {
  name   = "quantum-ml"
  region = "us-east"
}

data "ibmqr_instance" "by_crn" {
  crn = data.ibmqr_instance.ml.crn
}
