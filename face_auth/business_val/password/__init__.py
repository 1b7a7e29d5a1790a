"""The password factor's rules: hashing and the lockout."""
