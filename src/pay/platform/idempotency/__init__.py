"""The Idempotency-Key mechanism for every money-moving request (decision 4).

One rule: the first request with a key wins; the same key with the same request gets the stored
answer; with another request, 409 `idempotency-key-reuse`; while the first is still running, 409
`idempotency-key-in-progress`, or `idempotency-key-abandoned` once it has clearly died without
answering. Keys are scoped to the caller, so one member can never replay another's answer.

- `keys`: the claims, the stored answers, and `resolve`, the rule itself.
- `store`: keys and answers on their own autocommit connection, for handlers whose answer is
  stored after they ran.
- `kept`: keys stored with their answers in the very transaction of the handler's effect, so key,
  effect and answer commit together or not at all; what every money-moving route does.
- `middleware`: reads the key of a request and applies the one or the other.
"""
