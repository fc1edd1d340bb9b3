terraform {
  required_version = ">= 1.0"

  required_providers {
    ibmqr = {
      source = "ibmqr/ibmqr"
      # Any 0.x release from 0.2.0 on; a 1.0 may change behaviour.
      version = ">= 0.2.0, < 1.0.0"
    }
  }
}
