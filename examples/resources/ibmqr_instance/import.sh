# An instance is imported by its CRN or by its GUID; state holds the CRN as the id.
terraform import ibmqr_instance.ml "crn:v1:bluemix:public:quantum-computing:us-east:a/0bae863b1df44b9e99f58734da909ab9:6a1f9b2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c::"
terraform import ibmqr_instance.ml 6a1f9b2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c
