"""The gateway (SPEC "Gateway and console"): one origin for clients, in front of every public service."""
