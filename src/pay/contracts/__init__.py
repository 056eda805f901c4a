"""What crosses service boundaries: event and command schemas, public API models, typed clients."""
