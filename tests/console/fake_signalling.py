"""A local stand-in for Twilio's Voice signalling server (the WebSocket the browser
SDK `@twilio/voice-sdk` keeps open), for the softphone's browser tests.

The real server is out of reach here (closed network) and would refuse a test
account anyway. This one speaks the few messages of the SDK's protocol
(`PStream`, protocol version 1.6, read from lib/twilio/pstream.ts and device.ts
of the pinned package) that registration and token refresh use:

    browser -> server  {"type": "listen",   "payload": {"token", "browserinfo", ...}}
    server -> browser  {"type": "connected", "payload": {"region", "token": {"identity", "ttl"}}}
    browser -> server  {"type": "register", "payload": {"media": {"audio": true}}}
    server -> browser  {"type": "ready",     "payload": {}}        (the Device is registered)

`connected`'s `token.ttl` is what the SDK times `tokenWillExpire` from (ttl minus
`tokenRefreshMs`), so a test sets a short first ttl to see the refresh happen;
every later `listen` (the refreshed token: `Device.updateToken` publishes one)
is answered with `ttl_after`.

The SDK only speaks `wss://<chunderw>/signal`, so the server runs TLS with a
throw-away certificate (trustme); the browser context ignores certificate errors.
Point a Device at it with the option `chunderw: server.address`.

A call for the Device is `send("invite", {"callsid", "sdp", "parameters"})`; the
SDK answers with `answer` {"sdp", "callsid"} once it accepted, and ends with
`hangup` {"callsid"}. The test relays the SDP to a peer of its own."""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
from typing import Any

import trustme
from websockets.asyncio.server import ServerConnection, serve


class FakeSignalling:
    def __init__(self, *, identity: str, first_ttl: int, ttl_after: int = 3600) -> None:
        self.identity = identity
        self.first_ttl = first_ttl
        self.ttl_after = ttl_after
        self.received: list[dict[str, Any]] = []
        self._connection: ServerConnection | None = None
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Future[None] | None = None
        self._ready = threading.Event()
        ca = trustme.CA()
        self._ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(self._ssl)
        self.port = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "the fake signalling server did not start"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def messages(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.received if m.get("type") == kind]

    def send(self, kind: str, payload: dict[str, Any]) -> None:
        """A message to the browser on its latest connection (an `invite`: a call
        for the Device, as Twilio sends when `<Dial><Client>` rings it)."""
        connection = self._connection
        assert connection is not None, "no browser connected"
        asyncio.run_coroutine_threadsafe(
            connection.send(_message(kind, payload)), self._loop
        ).result(timeout=10)

    def close(self) -> None:
        def stop() -> None:
            if self._stop is not None and not self._stop.done():
                self._stop.set_result(None)

        self._loop.call_soon_threadsafe(stop)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = self._loop.create_future()
        async with serve(self._session, "127.0.0.1", 0, ssl=self._ssl) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop

    async def _session(self, ws: ServerConnection) -> None:
        self._connection = ws
        async for raw in ws:
            message = json.loads(raw)
            with self._lock:
                self.received.append(message)
                listens = sum(1 for m in self.received if m.get("type") == "listen")
            kind = message.get("type")
            if kind == "listen":
                ttl = self.first_ttl if listens == 1 else self.ttl_after
                await ws.send(
                    _message(
                        "connected",
                        {
                            "region": "jp1",
                            "edge": "tokyo",
                            "token": {"identity": self.identity, "ttl": ttl},
                        },
                    )
                )
            elif kind == "register":
                await ws.send(_message("ready", {}))


def _message(kind: str, payload: dict[str, Any]) -> str:
    return json.dumps({"type": kind, "version": "1.6", "payload": payload})
