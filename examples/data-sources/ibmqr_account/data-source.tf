data "ibmqr_account" "this" {}

output "account_id" {
  value = data.ibmqr_account.this.account_id
}
