"""Notification's HTTP API (SPEC "Notifications and webhooks"): a member's feed, read page by page or followed
live as Server-Sent Events.

The stream is an async generator on the event loop, so an idle stream costs a little memory and no thread. A
browser's EventSource cannot send an Authorization header: it opens the stream with a ticket from
`POST /notifications/ticket` instead, good for one use within seconds.
"""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from pay.contracts import notification as api
from pay.notification.adapters.live import LiveFeeds
from pay.notification.application import use_cases
from pay.notification.application.use_cases import Dependencies
from pay.notification.domain.model import Entry, TicketRefused
from pay.platform.auth import (
    UNAUTHENTICATED_HEADERS,
    CurrentPrincipal,
    Principal,
    Role,
    bearer_principal,
    ensure_may_act_for,
)
from pay.platform.paging import cut_page
from pay.platform.problems import ErrorMap, Problem, ProblemSpec
from pay.platform.watch import wait_at_most

ERRORS: ErrorMap = {
    TicketRefused: ProblemSpec(
        401, "invalid-ticket", "The ticket is unknown, expired or used already", headers=UNAUTHENTICATED_HEADERS
    ),
}
# A stream reads at most this many entries at once, and reads again at once while it gets as many.
_READ_AT_ONCE = 200
# How long a browser waits before it reconnects a stream that ended (with Last-Event-ID).
_RECONNECT_MS = 2000
_SEQ = r"^[0-9]{1,18}$"

router = APIRouter(prefix="/notifications", tags=["notification"])


async def _deps(request: Request) -> Dependencies:
    deps: Dependencies = request.app.state.notification
    return deps


Deps = Annotated[Dependencies, Depends(_deps)]
MembershipId = Annotated[
    str | None, Query(alias="membershipId", min_length=1, max_length=64, description="Admin: another member's")
]


def _recipient(principal: Principal, membership_id: str | None) -> str:
    recipient = membership_id or principal.subject
    ensure_may_act_for(principal, recipient)
    return recipient


@router.get("")
async def feed(
    principal: CurrentPrincipal,
    deps: Deps,
    membership_id: MembershipId = None,
    cursor: Annotated[str | None, Query(pattern=_SEQ)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> api.NotificationPage:
    """The caller's feed (an admin's: any member's), newest first; entries are kept at least 24 hours."""
    recipient = _recipient(principal, membership_id)
    found = await use_cases.feed_page(deps, recipient, int(cursor) if cursor else None, limit)
    page, next_cursor = cut_page(found, limit, lambda entry: str(entry.seq))
    return api.NotificationPage(items=[_view(entry) for entry in page], next_cursor=next_cursor)


@router.post("/ticket", status_code=201)
async def ticket(principal: CurrentPrincipal, deps: Deps) -> api.StreamTicket:
    """A ticket that opens the caller's stream once, within seconds (for EventSource, which sends no header)."""
    token, issued = await use_cases.issue_ticket(deps, principal.subject, principal.role.value)
    return api.StreamTicket(ticket=token, expires_at=issued.expires_at)


async def _stream_principal(
    request: Request,
    deps: Deps,
    ticket: Annotated[
        str | None, Query(min_length=1, max_length=100, description="From POST /notifications/ticket")
    ] = None,
) -> Principal:
    """The caller, by its ticket if it brings one, else by its access token."""
    if ticket is not None:
        redeemed = await use_cases.redeem_ticket(deps, ticket)
        return Principal(redeemed.subject, Role(redeemed.role))
    principal = bearer_principal(request.scope, request.app.state.token_verifier)
    if principal is None:
        raise Problem(
            401, "unauthenticated", "An access token or a ticket is required", headers=UNAUTHENTICATED_HEADERS
        )
    return principal


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The feed's new entries as they come"},
        401: {"description": "No valid access token or ticket"},
        403: {"description": "Another member's stream"},
    },
)
async def stream(
    request: Request,
    principal: Annotated[Principal, Depends(_stream_principal)],
    deps: Deps,
    membership_id: MembershipId = None,
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", pattern=_SEQ, description="Resume after this entry")
    ] = None,
) -> StreamingResponse:
    """The member's feed live as Server-Sent Events: each entry once, in order, with its number as event id;
    with `Last-Event-ID` it resumes after that entry, else it starts with what comes next. A comment line every
    few seconds keeps proxies from closing it while nothing happens."""
    recipient = _recipient(principal, membership_id)
    after = int(last_event_id) if last_event_id is not None else await use_cases.last_seq(deps, recipient)
    live: LiveFeeds = request.app.state.live_feeds
    heartbeat: float = request.app.state.stream_heartbeat_seconds
    return StreamingResponse(
        _events(deps, live, recipient, after, heartbeat),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(
    deps: Dependencies, live: LiveFeeds, recipient: str, after: int, heartbeat: float
) -> AsyncIterator[str]:
    yield f"retry: {_RECONNECT_MS}\n\n"
    with live.watching(recipient) as woken:
        # The first round reads the database: entries committed before the stream was watched are found there.
        read_feed = True
        while True:
            # Cleared before reading: an entry committed while the feed is read wakes the next round.
            woken.clear()
            entries = None if read_feed else live.news_after(recipient, after)
            if entries is None:
                entries = await use_cases.entries_after(deps, recipient, after, _READ_AT_ONCE)
                live.read_up_to(recipient, entries[-1].seq if entries else after)
            for entry in entries:
                yield _frame(entry)
                after = entry.seq
            read_feed = len(entries) >= _READ_AT_ONCE
            if read_feed:
                continue
            await wait_at_most(woken, heartbeat)
            if not woken.is_set():
                yield ": heartbeat\n\n"


def _frame(entry: Entry) -> str:
    return f"id: {entry.seq}\nevent: {entry.kind}\ndata: {_view(entry).model_dump_json(by_alias=True)}\n\n"


def _view(entry: Entry) -> api.Notification:
    return api.Notification(
        event_id=entry.seq,
        membership_id=entry.recipient,
        kind=entry.kind,
        text=entry.text,
        data=dict(entry.data),
        occurred_at=entry.occurred_at,
        created_at=entry.created_at,
    )
