# A resource group for one project's Qiskit Runtime instances.
resource "ibmqr_resource_group" "ml" {
  name = "quantum-ml"

  # Deleting waits this long for instances being reclaimed to leave the group.
  timeouts {
    delete = "20m"
  }
}
