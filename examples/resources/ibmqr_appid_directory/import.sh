# A directory is imported by the App ID instance's CRN.
terraform import ibmqr_appid_directory.campus "crn:v1:bluemix:public:appid:us-east:a/0123456789abcdef0123456789abcdef:6f1c2a1e-3d4b-4c5a-9e8f-0a1b2c3d4e5f::"
