"""Identities, credentials, the RAM policy language and its evaluation."""
