# A role for project members: run, read and cancel jobs and sessions.
resource "ibmqr_custom_role" "member" {
  name         = "QiskitRuntimeUser"
  display_name = "Qiskit Runtime user"
  description  = "Runs jobs and sessions on the project's instances"
  actions = [
    "quantum-computing.device.read",
    "quantum-computing.instance.read",
    "quantum-computing.job.cancel",
    "quantum-computing.job.create",
    "quantum-computing.job.read",
    "quantum-computing.session.create",
    "quantum-computing.session.read",
    "quantum-computing.session.update",
  ]
}
