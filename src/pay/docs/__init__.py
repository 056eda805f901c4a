"""The documents `pay docs` writes from the code itself: each service's OpenAPI document, the AsyncAPI document of
the events and commands on the broker, and the reference of every `PAY_*` setting. Tests compare them with the
committed copies, so the documentation in the repository says what the code does."""
