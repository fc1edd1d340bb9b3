# A person is imported by email.
terraform import ibmqr_user_invite.fatima fatima@example.edu
