"""Membership: members, credentials and tokens (SPEC "Membership")."""
