# An identity provider is imported by its idp_id (its realm ID).
terraform import ibmqr_identity_provider.campus TkQjwl2TOB
