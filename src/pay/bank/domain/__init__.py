"""Accounts and the rules a transfer between them follows; pure Python, no I/O."""
