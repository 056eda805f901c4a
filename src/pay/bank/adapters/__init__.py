"""The bank's adapters: HTTP in, PostgreSQL out."""
