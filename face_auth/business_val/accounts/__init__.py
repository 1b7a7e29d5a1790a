"""Accounts: registration and sign-in, identifiers, personal data, the admin's actions, recent
authentication, mailed links, the audit log's reading."""
