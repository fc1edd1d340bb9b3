# An access group policy is imported by its policy ID.
terraform import ibmqr_access_group_policy.project 2c7d9e14-8a3b-4f6c-9d1e-5b0a7f3c2e8d
