# A user is imported as TENANT_ID/USER_ID; the directory is found among the account's App ID instances.
terraform import ibmqr_appid_user.ada 6f1c2a1e-3d4b-4c5a-9e8f-0a1b2c3d4e5f/0b2d4f6a-8c0e-4a2c-9e4f-6a8c0e2b4d6f
