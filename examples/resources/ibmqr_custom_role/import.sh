# A custom role is imported by its role ID (not its name).
terraform import ibmqr_custom_role.member 8f2b6c0e4d1a4f6b9c3e2a1d0f9e8b7c
