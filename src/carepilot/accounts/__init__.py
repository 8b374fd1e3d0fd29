"""User accounts, roles, password hashing, server-side sessions and login throttling."""
