# An access group is imported by its ID (not its name).
terraform import ibmqr_access_group.ml AccessGroupId-6f1c2a1e-3d4b-4c5a-9e8f-0a1b2c3d4e5f
