"""One WebSocket connection: a reader for requests, an outbox for what goes out.

Steps for every frame, always the same: check size and rate, decode, validate,
hand to the room service, send the reply. Events arrive from the hub as
packets; the session keeps the last seq it sent per stream, drops what it has
already sent, and fills any gap from the backend's history before going on,
so a client sees each stream gapless and in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import secrets
import socket
import struct
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from ensemble.backends.base import BackendUnavailable
from ensemble.core.events import DROPPED, ROOM, history_key, readable_keys
from ensemble.metrics import Metrics
from ensemble.service import RoomService
from ensemble.settings import Settings
from ensemble.transport.closing import close_for_effect, close_for_error
from ensemble.transport.errors import InternalFailure, error_for
from ensemble.transport.outbox import Outbox, uvicorn_protocol
from ensemble.transport.ratelimit import MemberBuckets, TokenBucket
from ensemble.wire import schema
from ensemble.wire.codec import DecodeError, Format, decode, encode
from ensemble.wire.codes import CloseCode, ErrorCode
from ensemble.wire.packet import Packet

log = logging.getLogger(__name__)


class State(enum.Enum):
    AWAITING_HELLO = "awaiting_hello"
    JOINING = "joining"
    OPEN = "open"
    CLOSED = "closed"


class Session:
    # One per open socket, so every byte counts: no __dict__.
    __slots__ = (
        "_admitted_at", "_behind", "_bucket", "_buckets", "_close", "_counted", "_held",
        "_interrupted", "_last", "_out", "_readable", "_receiving", "_refused_in_a_row",
        "_task", "_tasks", "conn_id", "fmt", "member_id", "metrics", "role", "room_id",
        "service", "settings", "state", "websocket",
    )

    def __init__(
        self,
        websocket: WebSocket,
        fmt: Format,
        service: RoomService,
        settings: Settings,
        metrics: Metrics,
        buckets: MemberBuckets,
    ) -> None:
        self.websocket = websocket
        self.fmt = fmt
        self.service = service
        self.settings = settings
        self.metrics = metrics
        self.conn_id = f"{settings.node_id}.{secrets.token_hex(6)}"
        self.state = State.AWAITING_HELLO
        self.room_id = ""
        self.member_id = ""
        self.role = ""
        self._out = Outbox(websocket, settings.send_queue, self._overflowed)
        # The task running this session, and whether a close interrupts its read.
        self._task: asyncio.Task[Any] | None = None
        self._receiving = False
        self._interrupted = False
        # Until hello, this socket's own bucket; then the member's, shared by its sockets.
        self._buckets = buckets
        self._bucket = TokenBucket(settings.rate_per_s, settings.rate_burst)
        self._counted = False  # in the connections gauge
        self._refused_in_a_row = 0
        self._close: tuple[int, str] | None = None
        self._last: dict[str, int] = {}
        self._readable: list[str] = []  # the histories this member reads
        self._admitted_at = 0  # the room stream's seq when this socket was admitted
        self._held: list[Packet] | None = []  # packets that came before the welcome
        self._behind: dict[str, list[Packet]] = {}  # key -> live packets held while catching up
        self._tasks: set[asyncio.Task[None]] | None = None  # catch-ups, made when needed

    # -- lifecycle -------------------------------------------------------------

    async def run(self) -> None:
        """Read and handle frames until the socket closes or the session is
        closed, in the task that serves the socket (no task of its own: an idle
        member costs as little as it can)."""
        self.metrics.connections.inc()
        self._counted = True
        self._task = asyncio.current_task()
        try:
            await self._read()
            if self._close is not None:
                await self._out.flush(timeout=2)  # what was sent before the close
        finally:
            tasks = self._tasks or set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._out.aclose()
            await self._leave()
            if self._close is not None:
                await self._send_close(*self._close)
            self._uncount()

    def close(self, code: int, reason: str = "") -> None:
        """Close after what is already sent has gone out."""
        if self._close is None:
            self._close = (code, reason)
            self._stop_reading()

    def _overflowed(self) -> None:
        self.metrics.slow_consumers.inc()
        self._cut(CloseCode.SLOW_CONSUMER, "send queue overflowed: reconnect and resume")

    def _cut(self, code: int, reason: str) -> None:
        """Close now, dropping whatever waits to go out. The socket leaves the
        gauge at once: a peer that stopped reading may hold it a little longer."""
        self._close = (code, reason)
        self._out.discard()
        self._uncount()
        self._stop_reading()

    def _stop_reading(self) -> None:
        """End the read loop: now if it waits for a frame, else after the one it handles."""
        if self._receiving and self._task is not None and not self._interrupted:
            self._interrupted = True
            self._task.cancel()

    def _uncount(self) -> None:
        if self._counted:
            self._counted = False
            self.metrics.connections.dec()

    async def _send_close(self, code: int, reason: str) -> None:
        """Send the close frame, even past a full send buffer; a peer that does
        not take it within `close_timeout_ms` has its connection aborted."""
        timeout = self.settings.close_timeout_ms / 1000
        transport = connection_of(self.websocket)
        if transport is not None:
            asyncio.get_running_loop().call_later(timeout, reset, transport)
            if code == CloseCode.SLOW_CONSUMER:
                make_room_for_close(self.websocket, transport)
        try:
            async with asyncio.timeout(timeout):
                await self.websocket.close(code, reason)
        except TimeoutError:
            if transport is not None:
                reset(transport)
        except (RuntimeError, OSError):
            pass

    async def _leave(self) -> None:
        if self.state is State.OPEN:
            self._buckets.release(self._bucket_key)
        if self.state in (State.JOINING, State.OPEN):
            self.state = State.CLOSED
            await self.service.hub.remove(self.room_id, self)
            try:
                await self.service.disconnect(self.room_id, [self.conn_id])
            except BackendUnavailable:
                log.warning("could not record %s leaving; its lease will lapse", self.conn_id)
            except Exception:
                log.exception("recording %s leaving failed", self.conn_id)
        self.state = State.CLOSED

    # -- writing -------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        if self._close is not None:
            return
        data = encode(message, self.fmt)
        self._out.put(data if self.fmt is Format.MSGPACK else data.decode())

    def _error(self, ref: Any, code: ErrorCode, message: str) -> None:
        self.metrics.errors.labels(code.value).inc()
        self.send({"type": "error", "ref": ref, "code": code.value, "message": message})

    # -- reading -------------------------------------------------------------

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        # Absolute: pings and garbage do not buy a socket more time to say hello.
        hello_by = loop.time() + self.settings.hello_timeout_ms / 1000
        while self._close is None:
            try:
                self._receiving = True
                if self.state is State.AWAITING_HELLO:
                    async with asyncio.timeout_at(hello_by):
                        message = await self.websocket.receive()
                else:
                    message = await self.websocket.receive()
            except asyncio.CancelledError:
                if not self._interrupted:
                    raise
                assert self._task is not None
                self._task.uncancel()  # our own interruption: the session closes
                return
            except TimeoutError:
                self._error(None, ErrorCode.UNAUTHORIZED, "no hello in time")
                self.close(CloseCode.HELLO_TIMEOUT, "no hello in time")
                return
            except WebSocketDisconnect:
                return
            finally:
                self._receiving = False
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is None:
                data = message.get("text", "")
            await self._handle(data)
            if self._close is not None:
                return

    async def _handle(self, data: bytes | str) -> None:
        if _size(data) > self.settings.max_frame_bytes:
            self._error(None, ErrorCode.TOO_LARGE,
                        f"frames are at most {self.settings.max_frame_bytes} bytes")
            return
        try:
            message = decode(data, self.fmt)
        except DecodeError as exc:
            self._error(None, ErrorCode.BAD_REQUEST, str(exc))
            return
        ref = message.get("ref")
        if not isinstance(ref, (str, int)) or isinstance(ref, bool):
            ref = None
        type_ = message["type"]
        self.metrics.request(type_ if schema.known_request(type_) else "unknown")
        if not self._bucket.take():
            self._refused_in_a_row += 1
            if self._refused_in_a_row > self.settings.abuse_limit:
                self.close(CloseCode.ABUSIVE, "too many requests")
                return
            self._error(ref, ErrorCode.RATE_LIMITED, "too many requests: slow down")
            return
        self._refused_in_a_row = 0
        try:
            await self._dispatch(type_, ref, message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            try:
                code, text = error_for(exc)
            except InternalFailure:
                self.close(CloseCode.INTERNAL, "internal error: reconnect")
                return
            self._error(ref, code, text)
            ending = close_for_error(exc)
            if ending is not None and (self.state is State.OPEN or type_ == "hello"):
                self.close(*ending)
            elif type_ == "hello" and self.state is not State.OPEN:
                retry = code is ErrorCode.UNAVAILABLE
                self.close(CloseCode.TRY_AGAIN if retry else CloseCode.POLICY, text)

    async def _dispatch(self, type_: str, ref: Any, message: dict[str, Any]) -> None:
        if not schema.known_request(type_):
            self._error(ref, ErrorCode.UNKNOWN_TYPE, f"unknown request type {type_[:40]!r}")
            return
        schema.validate(message)
        if type_ == "ping":
            self.send({"type": "pong", "t0": message["t0"],
                       "server_time": self.service.clock.now_ms()})
            return
        if type_ == "hello":
            if self.state is not State.AWAITING_HELLO:
                self._error(ref, ErrorCode.CONFLICT, "this connection already said hello")
                return
            await self._hello(message)
            return
        if self.state is not State.OPEN:
            self._error(ref, ErrorCode.UNAUTHORIZED, "say hello first")
            return
        payload = {k: v for k, v in message.items() if k not in ("type", "ref")}
        reply = await self.service.request(self.room_id, self.member_id, type_, payload)
        self.send({"type": "ack", "ref": ref, **reply})

    async def _hello(self, hello: dict[str, Any]) -> None:
        self.room_id = hello["room"]
        # In the hub before the member is let in: what happens meanwhile is held.
        await self.service.hub.add(self.room_id, self)
        self.state = State.JOINING
        try:
            admission = await self.service.admit(hello, self.conn_id)
        except BaseException:
            await self.service.hub.remove(self.room_id, self)
            self.state = State.AWAITING_HELLO
            self._held = []
            raise
        self.member_id = admission.member_id
        self.role = admission.role
        self._bucket = self._buckets.acquire(self._bucket_key)
        self._readable = readable_keys(self.member_id, self.role)
        self._admitted_at = admission.seqs.get(ROOM, 0)
        self.state = State.OPEN
        self.send(admission.welcome(self.service.clock.now_ms()))
        start = admission.seqs
        if admission.resumed:
            start = {stream: seq for stream, seq in hello["resume"].items() if stream in start}
        for stream, seq in start.items():
            self._last[history_key(stream, self.member_id)] = seq
        self._replay(admission.missed)
        held, self._held = self._held or [], None
        self._replay(held)

    @property
    def _bucket_key(self) -> str:
        return f"{self.room_id}/{self.member_id}"

    # -- events --------------------------------------------------------------

    def offer(self, packet: Packet | None) -> bool:
        """Called by the hub for every packet of the room (None: some may be lost).
        True when the packet went out to this socket (the hub counts deliveries)."""
        if self._held is not None:
            if packet is not None:
                self._held.append(packet)
            return False
        if self.state is not State.OPEN:
            return False
        if packet is None:
            for key in self._readable:
                self._start_catch_up(key)
            return False
        key = packet.key
        if key not in self._readable:
            return False
        if key in self._behind:
            self._behind[key].append(packet)
            return False
        last = self._last.get(key, 0)
        if packet.seq <= last:
            return False
        if packet.seq > last + 1:
            self._behind[key] = [packet]
            self._start_catch_up(key, started=True)
            return False
        self._last[key] = packet.seq
        if self._close is not None:
            return False
        self._out.put_packet(packet, self.fmt)
        self._after(packet)
        return True

    def _replay(self, packets: list[Packet]) -> None:
        """Offer packets read back (missed, held or caught up), counted once."""
        delivered = sum(self.offer(packet) for packet in packets)
        if delivered:
            self.metrics.deliveries.inc(delivered)

    def _after(self, packet: Packet) -> None:
        """Events that change what this connection may see end it, as the core
        said (`Packet.effect`; codes in transport/closing.py).

        The close waits a loop turn so that the reply to the request that
        caused it (queued right after its events) still goes out first.
        """
        effect = packet.effect
        if effect is None or (effect.member is not None and effect.member != self.member_id):
            return
        if effect.kind == DROPPED and packet.seq <= self._admitted_at:
            return  # from before this socket was admitted (a resume replays it)
        asyncio.get_running_loop().call_soon(self.close, *close_for_effect(effect))

    def _start_catch_up(self, key: str, *, started: bool = False) -> None:
        if key in self._behind and not started:
            return
        self._behind.setdefault(key, [])
        task = asyncio.create_task(self._catch_up(key))
        if self._tasks is None:
            self._tasks = set()
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _catch_up(self, key: str) -> None:
        reason = "missed events are no longer kept: reconnect"
        try:
            packets = await self.service.backend.history(self.room_id, key, self._last.get(key, 0))
        except BackendUnavailable:
            packets, reason = None, "missed events cannot be read right now: reconnect"
        except Exception:
            log.exception("catching up %s failed", key)
            packets, reason = None, "missed events could not be read: reconnect"
        if packets is None:
            self._behind.pop(key, None)
            self.close(CloseCode.RESYNC, reason)
            return
        held = self._behind.pop(key, [])
        self._replay([*packets, *held])


def connection_of(websocket: WebSocket) -> asyncio.Transport | None:
    """The TCP transport under a WebSocket, to abort it (ASGI has no abort)."""
    transport = getattr(uvicorn_protocol(websocket), "transport", None)
    # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
    return transport if hasattr(transport, "abort") else None


def reset(transport: asyncio.Transport) -> None:
    """Drop a connection now, unsent data and all: a reset, not a FIN that would
    wait behind data a peer that stopped reading never takes."""
    if transport.is_closing() and transport.get_write_buffer_size() == 0:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def make_room_for_close(websocket: WebSocket, transport: asyncio.Transport) -> None:
    """Let a close frame be queued behind data the peer has not read yet.

    uvicorn waits for the send buffer to drain before it writes anything,
    which a peer that stopped reading never lets happen: raise the buffer's
    mark and tell the protocol it may write (plain asyncio flow control).
    """
    transport.set_write_buffer_limits(high=transport.get_write_buffer_size() + 1024 * 1024)
    resume = getattr(uvicorn_protocol(websocket), "resume_writing", None)
    if callable(resume):
        resume()


def _size(data: bytes | str) -> int:
    """A frame's size in bytes (a text frame's characters take 1 to 4 bytes each)."""
    if isinstance(data, str) and not data.isascii():
        return len(data.encode())
    return len(data)
