"""Pay: a simple-payment platform built as microservices."""
