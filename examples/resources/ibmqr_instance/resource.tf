# A Pay-As-You-Go instance with a cost cap, in the project's resource group.
resource "ibmqr_instance" "ml" {
  name                   = "quantum-ml"
  plan                   = "pay-as-you-go"
  region                 = "us-east"
  resource_group_id      = ibmqr_resource_group.ml.id
  tags                   = ["project:ml", "env:prod"]
  instance_limit_seconds = 3600
  backends               = ["ANY"]

  # Purge at destroy, so that the resource group can be deleted in the same run.
  purge_on_destroy = true

  timeouts {
    create = "15m"
    update = "10m"
    delete = "10m"
  }
}
