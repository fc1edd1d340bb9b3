variable "name" {
  description = "The project's name; the access group is named after it."
  type        = string
}

variable "description" {
  description = "What the project is, shown on its access group. Null for none."
  type        = string
  default     = null
}

variable "instance_ids" {
  description = "Qiskit Runtime instances the project uses, by GUID or CRN: one policy each."
  type        = list(string)
  default     = []
}

variable "resource_group_ids" {
  description = "Resource groups (usually one, or none) whose every Qiskit Runtime instance the project uses: one policy each. A list rather than one optional ID, so that a group made in the same apply works: a null test on an ID not yet known could not decide a `count`."
  type        = list(string)
  default     = []
}

variable "custom_role_crns" {
  description = "Custom roles (their `crn`) granted beside Viewer on the project's instances."
  type        = list(string)
  default     = []
}

variable "member_emails" {
  description = "People to invite into the account and the project's group, by email."
  type        = set(string)
  default     = []
}

variable "service_ids" {
  description = "Service IDs (`iam-ServiceId-...`) made members of the project's group, e.g. CI pipelines."
  type        = set(string)
  default     = []
}

variable "federated_rule" {
  description = "Federated users whose login claim `claim` equals `value`, from the identity provider `realm`, join the group at login. Null for none."
  type = object({
    realm = string
    claim = string
    value = string
  })
  default = null
}

variable "federated_rule_expiration_hours" {
  description = "How many hours a membership from `federated_rule` lasts before the next login re-evaluates it (1 to 24)."
  type        = number
  default     = 12
}
