"""The external bank simulator: a stand-in for a real bank's open API, reached over the network.

It keeps accounts and executes transfers between them with a real bank's guarantees (atomic,
idempotent on the transfer id, never overdrawn) and can be told to misbehave (latency, errors,
outage) so that the platform's bank adapter is tested against the failures it must survive.
"""
