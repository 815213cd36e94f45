"""Writes of the directory: connections, sync, SCIM provisioning and write-back, one module each."""
