# A resource group for one project's Qiskit Runtime instances.
resource "ibmqr_resource_group" "ml" {
  name = "quantum-ml"

  # On destroy, reclaim the group's deleted instances still pending reclamation, instead of
  # failing until someone reclaims them.
  purge_reclamations_on_destroy = true

  # Deleting waits at most this long while IBM reclaims instances of the group.
  timeouts {
    delete = "20m"
  }
}
