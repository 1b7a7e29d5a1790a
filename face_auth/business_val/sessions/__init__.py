"""Sessions and their tokens: issue, check, revoke, end all."""
