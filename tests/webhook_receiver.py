"""A merchant's webhook receiver, run by a test: it checks each delivery's signature as the README shows and
answers the statuses it is told to, in turn (then 200)."""

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI, Request, Response

from support import free_port


def verify_signature(secret: str, header: str, body: bytes, tolerance_seconds: int = 300) -> bool:
    """The README's check, as a receiver writes it."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    signed = fields["t"].encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(fields["t"])) <= tolerance_seconds
    return fresh and hmac.compare_digest(expected, fields["v1"])


@dataclass
class Receiver:
    secret: str = ""
    # What to answer the next deliveries, in turn; 200 once they are used up.
    answers: list[int] = field(default_factory=list)
    # Every delivery received: (its signature verified, the body).
    received: list[tuple[bool, bytes]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hooks")
        async def hook(request: Request) -> Response:
            body = await request.body()
            self.received.append((verify_signature(self.secret, request.headers["pay-signature"], body), body))
            return Response(status_code=self.answers.pop(0) if self.answers else 200)

        return app


@contextmanager
def receiving(receiver: Receiver) -> Iterator[str]:
    """The receiver on a free port of 127.0.0.1, in a thread of its own, for tests that are not async; yields the
    URL to register."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(receiver.app(), host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, name="webhook-receiver", daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/hooks"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
