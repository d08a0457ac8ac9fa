"""Accounts, roles, tokens and the permission checks every endpoint uses."""
