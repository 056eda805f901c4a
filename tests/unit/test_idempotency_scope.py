"""A key's scope fits the key store whatever the path: a path the route will refuse must not make it fail."""

from pay.platform.idempotency.keys import MAX_SCOPE_LENGTH, key_scope


def test_a_scope_is_the_caller_and_the_path_or_the_path_s_digest_when_that_is_too_long() -> None:
    assert key_scope("member-1", "/franchise/f1/webhook-secret") == "member-1:/franchise/f1/webhook-secret"
    long_path = "/franchise/" + "0" * 64 + "/webhook-deliveries/" + "0" * 64 + "/redeliver"
    other_long_path = long_path.replace("/redeliver", "/redeliverx")
    caller = "6f1c2a3e-0000-4000-8000-000000000001"
    scope = key_scope(caller, long_path)
    assert len(scope) <= MAX_SCOPE_LENGTH and scope.startswith(f"{caller}:sha256:")
    assert scope == key_scope(caller, long_path) != key_scope(caller, other_long_path)
    assert len(key_scope(caller, "/franchise/" + "Ṱ̺̺̕o͞" * 100)) <= MAX_SCOPE_LENGTH
