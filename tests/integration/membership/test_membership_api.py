"""Membership over HTTP, in-process, against real PostgreSQL and NATS."""

import hmac
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import nats
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import create_async_engine

from pay.contracts.clients import MembershipClient, NotFound
from pay.contracts.membership import MembershipModified, MembershipRegistered
from pay.membership.adapters.security import EmailVault
from pay.membership.app import create_app
from pay.membership.domain.model import AdminEmailTaken
from pay.membership.settings import MembershipSettings
from pay.platform import auth
from pay.platform.migrations import upgrade

from support import provision, serving, settings_for, token_for

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
async def database_url(pg: Any) -> str:
    return await provision(pg, "pay.membership", "membership_api")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("membership")


@pytest.fixture(scope="module")
async def client(database_url: str, nats_url: str, data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(MembershipSettings, database_url, nats_url, data_dir, admin_password="admin-password")
    async with serving(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
async def admin_token(client: httpx.AsyncClient) -> str:
    response = await client.post("/membership/login", json={"email": "admin@pay.local", "password": "admin-password"})
    assert response.status_code == 200, response.text
    return str(response.json()["jwtToken"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register(client: httpx.AsyncClient, address: str = "강남구", **fields: Any) -> dict[str, Any]:
    """The member as the API answers it, plus the password it was registered with."""
    body = {
        "name": "Kim",
        "email": f"{uuid.uuid4().hex[:12]}@example.com",
        "address": address,
        "password": PASSWORD,
        "isCorp": False,
    } | fields
    response = await client.post("/membership/register", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json()) | {"password": body["password"]}


async def log_in(client: httpx.AsyncClient, member: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/membership/login", json={"email": member["email"], "password": PASSWORD})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def count_members(database_url: str) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return int((await connection.execute(sa.text("SELECT count(*) FROM members"))).scalar_one())
    finally:
        await engine.dispose()


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


async def test_register_returns_the_member_and_hides_the_password(client: httpx.AsyncClient) -> None:
    member = await register(client, isCorp=True)
    assert member["isValid"] is True and member["isCorp"] is True
    assert set(member) == {
        "membershipId",
        "name",
        "email",
        "address",
        "isValid",
        "isCorp",
        "createdAt",
        "updatedAt",
        "password",
    }
    body = {"name": "Kim", "email": member["email"].upper(), "address": "강남구", "password": PASSWORD}
    response = await client.post("/membership/register", json=body)
    assert_problem(response, 409, "email-already-registered")


async def test_email_is_encrypted_at_rest(client: httpx.AsyncClient, database_url: str) -> None:
    member = await register(client)
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    sa.text("SELECT email_sealed, email_index, password_hash FROM members WHERE membership_id = :id"),
                    {"id": member["membershipId"]},
                )
            ).one()
    finally:
        await engine.dispose()
    assert member["email"].encode() not in row.email_sealed
    assert member["email"].encode() not in row.email_index
    assert row.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    "change",
    [
        {"name": None},
        {"name": "x" * 101},
        {"email": "a" * 250 + "@b.co"},
        {"email": "not-an-email"},
        {"address": "x" * 101},
        {"password": "short"},
        {"password": "x" * 129},
        {"isCorp": "maybe"},
        {"name": 42},
        {"isCorp": 1},
        {"isCorp": 0},
        {"isCorp": "true"},
        {"name": "Kim\x00"},
        {"name": "Ki\nm"},
        {"name": "Kim\x1b[31m"},
        {"address": "강남\x7f구"},
        {"address": "강남\r구"},
        {"email": "bad\x00@example.com"},
        {"email": "bad@exam\x1fple.com"},
    ],
)
async def test_bad_registrations_are_refused_and_write_nothing(
    client: httpx.AsyncClient, database_url: str, change: dict[str, Any]
) -> None:
    before = await count_members(database_url)
    body = {"name": "Kim", "email": "bad@example.com", "address": "강남구", "password": PASSWORD} | change
    body = {key: value for key, value in body.items() if value is not None}
    assert_problem(await client.post("/membership/register", json=body), 422, "validation-error")
    assert await count_members(database_url) == before


async def test_malformed_json_is_a_validation_problem(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/membership/register", content=b'{"name": "Kim",', headers={"content-type": "application/json"}
    )
    assert_problem(response, 422, "validation-error")


async def test_login_failures_are_indistinguishable(client: httpx.AsyncClient, admin_token: str) -> None:
    member = await register(client)
    wrong_password = await client.post("/membership/login", json={"email": member["email"], "password": "nope-nope"})
    unknown = await client.post("/membership/login", json={"email": "ghost@example.com", "password": PASSWORD})
    modify = {**member, "isValid": False}
    del modify["password"], modify["createdAt"], modify["updatedAt"]
    assert (await client.post("/membership/modify", json=modify, headers=bearer(admin_token))).status_code == 200
    invalid = await client.post("/membership/login", json={"email": member["email"], "password": PASSWORD})
    for response in (wrong_password, unknown, invalid):
        assert_problem(response, 401, "invalid-credentials")
    assert wrong_password.json() == unknown.json() == invalid.json()


async def test_members_read_only_themselves_and_admins_read_anyone(client: httpx.AsyncClient, admin_token: str) -> None:
    alice, bob = await register(client), await register(client)
    alice_token = (await log_in(client, alice))["jwtToken"]
    own = await client.get(f"/membership/{alice['membershipId']}", headers=bearer(alice_token))
    assert own.status_code == 200 and own.json()["email"] == alice["email"]
    assert_problem(
        await client.get(f"/membership/{bob['membershipId']}", headers=bearer(alice_token)), 403, "forbidden"
    )
    assert (await client.get(f"/membership/{bob['membershipId']}", headers=bearer(admin_token))).status_code == 200
    assert_problem(await client.get("/membership/unknown-id", headers=bearer(admin_token)), 404, "member-not-found")
    me = await client.get("/membership/me", headers=bearer(alice_token))
    assert me.json()["membershipId"] == alice["membershipId"]


async def test_members_by_address_is_for_admins_and_services(
    client: httpx.AsyncClient, admin_token: str, data_dir: Path
) -> None:
    region = f"region-{uuid.uuid4().hex[:6]}"
    members = [await register(client, address=region) for _ in range(3)]
    members_answered = [{key: value for key, value in m.items() if key != "password"} for m in members]
    member_token = (await log_in(client, members[0]))["jwtToken"]
    assert_problem(await client.get(f"/membership/address/{region}", headers=bearer(member_token)), 403, "forbidden")
    service_token = token_for(data_dir, "money", auth.Role.SERVICE)
    for token in (admin_token, service_token):
        response = await client.get(f"/membership/address/{region}", headers=bearer(token))
        assert response.json()["items"] == sorted(members_answered, key=lambda m: m["membershipId"])
        assert response.json()["nextCursor"] is None


async def test_a_region_is_paged_by_cursor_without_dropping_or_repeating_a_member(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    region = f"region-{uuid.uuid4().hex[:6]}"
    expected = sorted([(await register(client, address=region))["membershipId"] for _ in range(7)])
    await register(client, address=f"{region}-next door")
    for limit in (1, 2, 3, 6, 7, 8, 500):
        seen: list[str] = []
        pages = 0
        query: dict[str, str | int] = {"limit": limit}
        while True:
            response = await client.get(f"/membership/address/{region}", params=query, headers=bearer(admin_token))
            assert response.status_code == 200, response.text
            page = response.json()
            pages += 1
            seen += [member["membershipId"] for member in page["items"]]
            if page["nextCursor"] is None:
                break
            assert len(page["items"]) == limit
            query = {"limit": limit, "cursor": page["nextCursor"]}
        assert seen == expected, limit
        assert pages == max(1, -(-len(expected) // limit)), limit


@pytest.mark.parametrize(
    "query",
    [{"limit": 0}, {"limit": 501}, {"limit": "x"}, {"cursor": ""}, {"cursor": "a/b"}, {"cursor": "x" * 65}],
)
async def test_a_bad_page_of_a_region_is_refused(
    client: httpx.AsyncClient, admin_token: str, query: dict[str, str | int]
) -> None:
    response = await client.get("/membership/address/강남구", params=query, headers=bearer(admin_token))
    assert_problem(response, 422, "validation-error")


async def test_an_unknown_region_is_an_empty_page(client: httpx.AsyncClient, admin_token: str) -> None:
    response = await client.get(f"/membership/address/nowhere-{uuid.uuid4().hex[:6]}", headers=bearer(admin_token))
    assert response.json() == {"items": [], "nextCursor": None}


async def test_the_typed_client_reads_members_as_a_service(client: httpx.AsyncClient, data_dir: Path) -> None:
    region = f"region-{uuid.uuid4().hex[:6]}"
    member = await register(client, address=region)
    service = MembershipClient(
        "http://testserver", token=token_for(data_dir, "money", auth.Role.SERVICE), transport=client._transport
    )
    async with service:
        page = await service.members_by_address(region)
        assert [found.membership_id for found in page.items] == [member["membershipId"]]
        assert page.next_cursor is None
        assert (await service.get_member(member["membershipId"])).address == region
        with pytest.raises(NotFound):
            await service.get_member("nobody")


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
async def test_garbage_tokens_are_unauthenticated(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get("/membership/me", headers=bearer(token) if token else {})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_forged_and_expired_tokens_are_refused(client: httpx.AsyncClient, data_dir: Path) -> None:
    member = await register(client)
    forger_key = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    forged = auth.TokenIssuer(forger_key.decode(), timedelta(minutes=5)).issue(member["membershipId"], auth.Role.ADMIN)
    real_key = (data_dir / "keys" / auth.PRIVATE_KEY_FILE).read_text()
    expired = auth.TokenIssuer(real_key, timedelta(seconds=-1)).issue(member["membershipId"], auth.Role.MEMBER)
    for token in (forged, expired):
        assert_problem(await client.get("/membership/me", headers=bearer(token)), 401, "invalid-token")
        validation = await client.post("/membership/token-validate", json={"jwtToken": token})
        assert validation.json() == {"valid": False, "membershipId": None}


async def test_token_validate_accepts_a_live_token(client: httpx.AsyncClient) -> None:
    member = await register(client)
    tokens = await log_in(client, member)
    validation = await client.post("/membership/token-validate", json={"jwtToken": tokens["jwtToken"]})
    assert validation.json() == {"valid": True, "membershipId": member["membershipId"]}


async def test_refresh_rotates_and_reuse_revokes_the_family(client: httpx.AsyncClient) -> None:
    member = await register(client)
    first = await log_in(client, member)
    second = await client.post("/membership/refresh-token", json={"refreshToken": first["refreshToken"]})
    assert second.status_code == 200
    assert (await client.get("/membership/me", headers=bearer(second.json()["jwtToken"]))).status_code == 200
    replay = await client.post("/membership/refresh-token", json={"refreshToken": first["refreshToken"]})
    assert_problem(replay, 401, "invalid-refresh-token")
    after_replay = await client.post("/membership/refresh-token", json={"refreshToken": second.json()["refreshToken"]})
    assert_problem(after_replay, 401, "invalid-refresh-token")


async def test_logout_ends_the_session_and_only_that_one(client: httpx.AsyncClient) -> None:
    member = await register(client)
    here = await log_in(client, member)
    elsewhere = await log_in(client, member)
    rotated = (await client.post("/membership/refresh-token", json={"refreshToken": here["refreshToken"]})).json()

    logout = await client.post("/membership/logout", json={"refreshToken": rotated["refreshToken"]})
    forged = await client.post("/membership/logout", json={"refreshToken": elsewhere["refreshToken"] + "x"})

    assert (logout.status_code, forged.status_code) == (204, 204)
    refresh = await client.post("/membership/refresh-token", json={"refreshToken": rotated["refreshToken"]})
    assert_problem(refresh, 401, "invalid-refresh-token")
    other = await client.post("/membership/refresh-token", json={"refreshToken": elsewhere["refreshToken"]})
    assert other.status_code == 200, other.text


async def test_modify_revokes_refresh_tokens_and_guards_status(client: httpx.AsyncClient) -> None:
    member = await register(client)
    tokens = await log_in(client, member)
    body = {
        "membershipId": member["membershipId"],
        "name": "Kim Jr",
        "email": member["email"],
        "address": "서초구",
        "isValid": True,
        "isCorp": False,
    }
    response = await client.post("/membership/modify", json=body, headers=bearer(tokens["jwtToken"]))
    assert response.status_code == 200 and response.json()["address"] == "서초구"
    refresh = await client.post("/membership/refresh-token", json={"refreshToken": tokens["refreshToken"]})
    assert_problem(refresh, 401, "invalid-refresh-token")
    promote = await client.post("/membership/modify", json=body | {"isCorp": True}, headers=bearer(tokens["jwtToken"]))
    assert_problem(promote, 403, "status-change-forbidden")


async def test_modifying_another_member_or_taking_its_email_is_refused(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    alice, bob = await register(client), await register(client)
    alice_token = (await log_in(client, alice))["jwtToken"]
    body = {
        "membershipId": bob["membershipId"],
        "name": "Bob",
        "email": bob["email"],
        "address": "강남구",
        "isValid": True,
        "isCorp": False,
    }
    assert_problem(await client.post("/membership/modify", json=body, headers=bearer(alice_token)), 403, "forbidden")
    steal = body | {"email": alice["email"]}
    assert_problem(
        await client.post("/membership/modify", json=steal, headers=bearer(admin_token)),
        409,
        "email-already-registered",
    )


async def test_registration_and_address_change_are_published(client: httpx.AsyncClient, nats_url: str) -> None:
    member = await register(client)
    tokens = await log_in(client, member)
    body = {
        "membershipId": member["membershipId"],
        "name": "Kim",
        "email": member["email"],
        "address": "마포구",
        "isValid": True,
        "isCorp": False,
    }
    assert (await client.post("/membership/modify", json=body, headers=bearer(tokens["jwtToken"]))).status_code == 200
    registered = await fetch(nats_url, MembershipRegistered.subject, member["membershipId"])
    assert registered["address"] == "강남구"
    modified = await fetch(nats_url, MembershipModified.subject, member["membershipId"])
    assert (modified["oldAddress"], modified["newAddress"]) == ("강남구", "마포구")


async def fetch(nats_url: str, subject: str, membership_id: str) -> dict[str, Any]:
    """The event about `membership_id` on `subject`, read back from JetStream."""
    connection = await nats.connect(nats_url)
    try:
        subscription = await connection.jetstream().pull_subscribe(subject, durable=None, stream="PAY")
        for _ in range(20):
            for message in await subscription.fetch(100, timeout=1):
                payload = json.loads(message.data)
                if payload["membershipId"] == membership_id:
                    return dict(payload)
    finally:
        await connection.close()
    raise AssertionError(f"no {subject} for {membership_id}")


async def test_idempotency_key_replays_and_refuses_reuse(client: httpx.AsyncClient) -> None:
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    body = {"name": "Lee", "email": email, "address": "강남구", "password": PASSWORD}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = await client.post("/membership/register", json=body, headers=key)
    again = await client.post("/membership/register", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    other = await client.post("/membership/register", json=body | {"name": "Park"}, headers=key)
    assert_problem(other, 409, "idempotency-key-reuse")


async def test_health_and_docs_are_public(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/live")).status_code == 200
    ready = await client.get("/health/ready")
    assert ready.json()["checks"] == {"database": "up", "broker": "up"}
    assert (await client.get("/openapi.json")).json()["info"]["title"] == "Pay membership"
    assert (await client.get("/docs")).status_code == 200
    assert "pay_http_requests_total" in (await client.get("/metrics")).text


def modify_body(member: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {key: member[key] for key in ("membershipId", "name", "email", "address", "isValid", "isCorp")}
    return body | changes


@pytest.mark.parametrize("change", [{"isValid": 1}, {"isValid": "true"}, {"isCorp": 0}, {"name": "Kim\t\x00"}])
async def test_bad_modifications_are_refused(client: httpx.AsyncClient, change: dict[str, Any]) -> None:
    member = await register(client)
    tokens = await log_in(client, member)
    response = await client.post(
        "/membership/modify", json=modify_body(member, **change), headers=bearer(tokens["jwtToken"])
    )
    assert_problem(response, 422, "validation-error")


async def test_an_email_typed_in_another_normal_form_or_domain_case_finds_the_same_member(
    client: httpx.AsyncClient,
) -> None:
    local = uuid.uuid4().hex[:8]
    decomposed, composed = f"{local}jose\u0301@Example.COM", f"{local}jos\u00e9@example.com"
    member = await register(client, email=decomposed)
    assert member["email"] == composed
    tokens = await log_in(client, {"email": composed})
    assert tokens["membershipId"] == member["membershipId"]
    assert (await log_in(client, {"email": f"{local}JOSE\u0301@EXAMPLE.com"}))["membershipId"] == member["membershipId"]
    body = {"name": "Kim", "email": f"{local}jos\u00e9@EXAMPLE.COM", "address": "강남구", "password": PASSWORD}
    assert_problem(await client.post("/membership/register", json=body), 409, "email-already-registered")


@pytest.mark.parametrize("change", [{"isValid": False}, {"email": "not-the-admin@pay.local"}])
async def test_the_admin_cannot_deactivate_itself_nor_change_its_email(
    client: httpx.AsyncClient, admin_token: str, change: dict[str, Any]
) -> None:
    admin = (await client.get("/membership/me", headers=bearer(admin_token))).json()
    response = await client.post("/membership/modify", json=modify_body(admin, **change), headers=bearer(admin_token))
    assert_problem(response, 409, "admin-must-stay")
    again = await client.post("/membership/login", json={"email": "admin@pay.local", "password": "admin-password"})
    assert again.status_code == 200


async def test_a_service_cannot_deactivate_the_admin(
    client: httpx.AsyncClient, admin_token: str, data_dir: Path
) -> None:
    admin = (await client.get("/membership/me", headers=bearer(admin_token))).json()
    service_token = token_for(data_dir, "money", auth.Role.SERVICE)
    response = await client.post(
        "/membership/modify", json=modify_body(admin, isValid=False), headers=bearer(service_token)
    )
    assert_problem(response, 409, "admin-must-stay")


async def test_start_up_refuses_an_admin_email_a_member_already_holds(
    client: httpx.AsyncClient, database_url: str, nats_url: str, data_dir: Path
) -> None:
    member = await register(client, email=f"boss-{uuid.uuid4().hex[:8]}@example.com")
    tokens = await log_in(client, member)
    local, _, domain = member["email"].partition("@")
    settings = settings_for(
        MembershipSettings, database_url, nats_url, data_dir, admin_email=f"{local}@{domain.upper()}"
    )
    with pytest.raises(AdminEmailTaken, match="Choose another PAY_ADMIN_EMAIL"):
        async with serving(create_app(settings)):
            pass
    refreshed = await client.post("/membership/refresh-token", json={"refreshToken": tokens["refreshToken"]})
    assert refreshed.status_code == 200, refreshed.text
    member_token = refreshed.json()["jwtToken"]
    assert_problem(await client.get("/membership/address/강남구", headers=bearer(member_token)), 403, "forbidden")
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            role = await connection.execute(
                sa.text("SELECT role FROM members WHERE membership_id = :id"), {"id": member["membershipId"]}
            )
            assert role.scalar_one() == "member"
    finally:
        await engine.dispose()


async def insert_as_before_normalisation(database_url: str, data_dir: Path, email: str) -> str:
    """A member row as the code before emails had one normal form wrote it: sealed as typed, indexed lower-cased."""
    keys = data_dir / "keys"
    vault = EmailVault((keys / "membership-email.key").read_bytes(), (keys / "membership-email-index.key").read_bytes())
    membership_id = str(uuid.uuid4())
    legacy_index = hmac.new((keys / "membership-email-index.key").read_bytes(), email.lower().encode(), "sha256")
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.text(
                    "INSERT INTO members VALUES (:id, 'Old', :sealed, :index, '강남구', true, false, 'member', "
                    ":hash, now(), now(), 0)"
                ),
                {
                    "id": membership_id,
                    "sealed": vault.encrypt(email, membership_id),
                    "index": legacy_index.digest(),
                    "hash": PasswordHasher().hash(PASSWORD),
                },
            )
    finally:
        await engine.dispose()
    return membership_id


async def email_form_of(database_url: str, membership_id: str) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            statement = sa.text("SELECT email_form FROM members WHERE membership_id = :id")
            return int((await connection.execute(statement, {"id": membership_id})).scalar_one())
    finally:
        await engine.dispose()


async def test_emails_stored_before_normalisation_are_rewritten_at_start_up(
    client: httpx.AsyncClient, database_url: str, nats_url: str, data_dir: Path
) -> None:
    local = uuid.uuid4().hex[:8]
    decomposed, composed = f"{local}jose\u0301@Example.com", f"{local}jos\u00e9@example.com"
    old = await insert_as_before_normalisation(database_url, data_dir, decomposed)
    taken = await register(client, email=f"{local}ta\u00e9@example.com")
    clash = await insert_as_before_normalisation(database_url, data_dir, f"{local}tae\u0301@example.com")

    settings = settings_for(MembershipSettings, database_url, nats_url, data_dir, admin_password="admin-password")
    async with serving(create_app(settings)) as restarted:
        tokens = await log_in(restarted, {"email": composed})
        assert tokens["membershipId"] == old
        me = await restarted.get("/membership/me", headers=bearer(tokens["jwtToken"]))
        assert me.json()["email"] == composed
        assert (await log_in(restarted, {"email": taken["email"]}))["membershipId"] == taken["membershipId"]
    assert await email_form_of(database_url, old) == 1
    assert await email_form_of(database_url, clash) == 0


@pytest.mark.parametrize(
    ("address", "status", "code"),
    [
        # A NUL is refused by the kernel in any path, before a route sees it.
        ("%00", 400, "bad-request"),
        ("%EA%B0%95%1F", 422, "validation-error"),
        ("x%7Fy", 422, "validation-error"),
    ],
)
async def test_an_address_with_control_characters_is_refused_in_the_path(
    client: httpx.AsyncClient, admin_token: str, address: str, status: int, code: str
) -> None:
    response = await client.get(f"/membership/address/{address}", headers=bearer(admin_token))
    assert_problem(response, status, code)


async def test_bringing_up_an_old_database_revokes_the_admins_refresh_tokens(pg: Any) -> None:
    """An admin made by the old start-up, which promoted whoever held the admin email, loses its sessions."""
    database = f"membership_old_{uuid.uuid4().hex[:8]}"
    await anyio.to_thread.run_sync(pg.ensure_database, database)
    database_url = pg.url(database)
    await anyio.to_thread.run_sync(upgrade, "pay.membership", database_url, "0001")
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            for membership_id, role in (("promoted", "admin"), ("someone", "member")):
                await connection.execute(
                    sa.text(
                        "INSERT INTO members VALUES (:id, 'Kim', :sealed, :index, '강남구', true, false, :role, "
                        "'hash', now(), now())"
                    ),
                    {"id": membership_id, "sealed": b"sealed", "index": membership_id.encode(), "role": role},
                )
                await connection.execute(
                    sa.text(
                        "INSERT INTO refresh_tokens VALUES "
                        "(:id, :id, :id, 'digest', now() + interval '1 day', null, null)"
                    ),
                    {"id": membership_id},
                )
        await anyio.to_thread.run_sync(upgrade, "pay.membership", database_url)
        async with engine.connect() as connection:
            rows = await connection.execute(sa.text("SELECT membership_id, revoked_at IS NOT NULL FROM refresh_tokens"))
            assert {row[0]: row[1] for row in rows} == {"promoted": True, "someone": False}
    finally:
        await engine.dispose()
