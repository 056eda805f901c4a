"""A closed-loop HTTP/1.1 load generator that spends as little CPU as it can.

On a two-core machine the load generator shares the CPU with the system it measures, so every
microsecond it spends per request is taken from the server. aiohttp needed about half a millisecond
per request, which at two thousand requests a second is a whole core. This client does only what the
benchmark needs: one keep-alive connection per client, requests built as bytes, and answers read by
their Content-Length (the services always send one).
"""

import asyncio
from typing import cast

HEADER_END = b"\r\n\r\n"


class ConnectionClosed(Exception):
    pass


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._answer: asyncio.Future[tuple[int, bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        header_end = self._buffer.find(HEADER_END)
        if header_end < 0 or self._answer is None:
            return
        head = bytes(self._buffer[:header_end]).lower()
        length_at = head.find(b"content-length:")
        if length_at < 0:
            self._fail(ConnectionClosed("an answer without Content-Length"))
            return
        line_end = head.find(b"\r\n", length_at)
        length = int(head[length_at + len(b"content-length:") : line_end if line_end >= 0 else len(head)])
        end = header_end + len(HEADER_END) + length
        if len(self._buffer) < end:
            return
        status = int(head[9:12])
        body = bytes(self._buffer[header_end + len(HEADER_END) : end])
        del self._buffer[:end]
        answer, self._answer = self._answer, None
        answer.set_result((status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionClosed(str(exc) if exc else "closed by the server"))

    def _fail(self, error: Exception) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(error)
        self._answer = None

    async def send(self, request: bytes) -> tuple[int, bytes]:
        assert self._transport is not None
        self._answer = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        return await self._answer

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def connect(host: str, port: int) -> _Connection:
    _, connection = await asyncio.get_running_loop().create_connection(_Connection, host, port)
    return connection


def post(host: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
