# A resource group is imported by its ID (32 hex digits), not its name.
terraform import ibmqr_resource_group.ml 3f1a9c2b7d4e4b8a9e0f1c2d3b4a5e6f
