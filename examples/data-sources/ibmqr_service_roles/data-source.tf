data "ibmqr_service_roles" "qiskit" {
  service = "quantum-computing"
}

# Every action a custom role may use.
output "actions" {
  value = data.ibmqr_service_roles.qiskit.actions
}
