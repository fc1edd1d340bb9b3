# Account settings are imported by the account ID.
terraform import ibmqr_account_settings.this 0bae863b1df44b9e99f58734da909ab9
