# The member list of a group is imported by the group's ID.
terraform import ibmqr_access_group_members.ml AccessGroupId-6f1c2a1e-3d4b-4c5a-9e8f-0a1b2c3d4e5f
