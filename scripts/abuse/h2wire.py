"""A raw HTTP/2 client for the abuse run. Frames are written by hand, so a client can break the
rules on purpose (reset at once, never open its receive window, flood, stop half-way through a
message); what the server sends is decoded with the `hpack` package that `h2` brings.

A connection has a reader thread (frames in, SETTINGS and PING acknowledged, flow-control windows
tracked) and a writer thread (frames out, control frames first), so a sender that floods never
stops the reader from draining what the server answers.
"""
import socket
import struct
import threading
import time
from collections import Counter, deque

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
FRAME_NAMES = [
    "DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS",
    "PUSH_PROMISE", "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION",
]
END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20

SETTINGS_ENABLE_PUSH = 0x2
SETTINGS_MAX_CONCURRENT_STREAMS = 0x3
SETTINGS_INITIAL_WINDOW_SIZE = 0x4
SETTINGS_MAX_FRAME_SIZE = 0x5

ERROR_NAMES = {
    0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR",
    4: "SETTINGS_TIMEOUT", 5: "STREAM_CLOSED", 6: "FRAME_SIZE_ERROR", 7: "REFUSED_STREAM",
    8: "CANCEL", 9: "COMPRESSION_ERROR", 10: "CONNECT_ERROR", 11: "ENHANCE_YOUR_CALM",
    12: "INADEQUATE_SECURITY", 13: "HTTP_1_1_REQUIRED",
}

GRPC_CODES = [
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
]

# RFC 9113 6.5.2: the initial window and frame size until the peer's SETTINGS say otherwise.
DEFAULT_WINDOW = 65535
DEFAULT_MAX_FRAME = 16384
# Bytes queued for the writer before a sender waits: bounds this process's memory in a flood.
WRITE_QUEUE_BYTES = 4 * 1024 * 1024
# Response body bytes kept per stream (the rest is counted, not kept).
KEEP_DATA = 64 * 1024


def error_name(code):
    return ERROR_NAMES.get(code, "0x%x" % code)


def grpc_code_name(code):
    try:
        return GRPC_CODES[int(code)]
    except (ValueError, IndexError):
        return str(code)


def frame(kind, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", kind, flags, stream_id) + payload


def _hpack_int(value, prefix_bits, pattern):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([pattern | value])
    out = bytearray([pattern | limit])
    value -= limit
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _as_bytes(text):
    return text if isinstance(text, bytes) else text.encode("latin-1")


def header_block(headers):
    """HPACK literal fields without indexing and without Huffman: stateless, so one block can be
    built once and sent any number of times on any connection."""
    out = bytearray()
    for name, value in headers:
        name, value = _as_bytes(name), _as_bytes(value)
        out += b"\x00" + _hpack_int(len(name), 7, 0) + name + _hpack_int(len(value), 7, 0) + value
    return bytes(out)


def grpc_request_headers(path, extra=()):
    return [
        (":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "127.0.0.1"),
        ("content-type", "application/grpc"), ("te", "trailers"),
    ] + list(extra)


def grpc_frame(message, declared_length=None):
    """A length-prefixed gRPC message; `declared_length` lies about its length."""
    length = len(message) if declared_length is None else declared_length
    return struct.pack(">BI", 0, length) + message


def settings_payload(pairs):
    return b"".join(struct.pack(">HI", key, value) for key, value in pairs)


class Stream:
    """What the server sent on one stream."""

    def __init__(self, stream_id, send_window):
        self.id = stream_id
        self.headers = None
        self.trailers = None
        self.data = bytearray()
        self.data_len = 0
        self.ended = False
        self.reset = None
        self.send_window = send_window

    def header(self, name):
        """A response header or trailer (trailers first)."""
        name = _as_bytes(name)
        for block in (self.trailers, self.headers):
            for key, value in block or ():
                if key == name:
                    return value.decode("latin-1")
        return None

    def grpc_status(self):
        return self.header("grpc-status")

    def outcome(self):
        """One word for how the stream stands: a gRPC status name, RST_STREAM's code, or open."""
        status = self.grpc_status()
        if status is not None and self.ended:
            return grpc_code_name(status)
        if self.reset is not None:
            return "RST_STREAM " + error_name(self.reset)
        if self.ended:
            return "ended without grpc-status (:status %s)" % self.header(":status")
        if self.headers is not None:
            return "open (headers, %d body bytes)" % self.data_len
        return "open (nothing back)"


class Conn:
    """One HTTP/2 connection to 127.0.0.1:port, prior knowledge (h2c)."""

    def __init__(self, port, settings=(), auto_window=True, answer_pings=True, on_end=None, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.settimeout(None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.auto_window = auto_window
        self.answer_pings = answer_pings
        self.on_end = on_end
        self.cond = threading.Condition()
        self.streams = {}
        self.ended_count = 0
        self.next_id = 1
        self.conn_window = DEFAULT_WINDOW
        self.peer_initial_window = DEFAULT_WINDOW
        self.peer_max_frame = DEFAULT_MAX_FRAME
        self.peer_max_streams = None
        self.peer_settings_seen = False
        self.goaway = None
        self.closed = False
        self.close_reason = None
        self.received = Counter()
        self.ping_acks = 0
        self.settings_acks = 0
        self.decoder = hpack.Decoder()
        self.decoder.max_header_list_size = 1 << 30
        self._wcond = threading.Condition()
        self._control = deque()
        self._data = deque()
        self._queued = 0
        self._writer_done = False
        self._enqueue(PREFACE + frame(SETTINGS, 0, 0, settings_payload(settings)), control=True)
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._writer = threading.Thread(target=self._write_loop, daemon=True)
        self._reader.start()
        self._writer.start()

    # -- sending ---------------------------------------------------------------------------------

    def _enqueue(self, data, control=False, deadline=None):
        """Queues bytes for the writer. A data sender waits while the queue is full (the server is
        not reading); False when the deadline passed or the connection is gone."""
        with self._wcond:
            if control:
                self._control.append(data)
            else:
                while self._queued > WRITE_QUEUE_BYTES and not self._writer_done:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    self._wcond.wait(0.2 if left is None else min(0.2, left))
                if self._writer_done:
                    return False
                self._data.append(data)
                self._queued += len(data)
            self._wcond.notify_all()
            return True

    def _write_loop(self):
        while True:
            with self._wcond:
                while not self._control and not self._data and not self._writer_done:
                    self._wcond.wait()
                if self._writer_done:
                    return
                if self._control:
                    data = self._control.popleft()
                else:
                    data = self._data.popleft()
                    self._queued -= len(data)
                    self._wcond.notify_all()
            try:
                self.sock.sendall(data)
            except OSError as err:
                self._mark_closed("write: %s" % err)
                return

    def send(self, data, deadline=None):
        return self._enqueue(data, deadline=deadline)

    def flush(self, timeout):
        """Waits until everything queued was written; False on timeout."""
        end = time.monotonic() + timeout
        with self._wcond:
            while (self._control or self._data) and not self._writer_done:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._wcond.wait(min(0.2, left))
        return not self._writer_done

    def new_stream_id(self):
        with self.cond:
            stream_id = self.next_id
            self.next_id += 2
            self.streams[stream_id] = Stream(stream_id, self.peer_initial_window)
            return stream_id

    def open_stream(self, headers, end_stream=False, deadline=None):
        """HEADERS for a new stream; its id (or None if the connection is gone)."""
        stream_id = self.new_stream_id()
        flags = END_HEADERS | (END_STREAM if end_stream else 0)
        if not self.send(frame(HEADERS, flags, stream_id, header_block(headers)), deadline):
            return None
        return stream_id

    def send_data(self, stream_id, data, end_stream=False, deadline=None):
        """DATA within the server's flow-control windows. Returns the bytes sent: fewer than asked
        when the deadline passed first, or the stream or connection ended."""
        sent = 0
        view = memoryview(data)
        stream = self.streams[stream_id]
        while sent < len(data) or (end_stream and sent == len(data)):
            with self.cond:
                while (min(self.conn_window, stream.send_window) <= 0 and sent < len(data)
                       and not stream.ended and not self.closed):
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return sent
                    self.cond.wait(0.2 if left is None else min(0.2, left))
                if stream.ended or self.closed:
                    return sent
                size = min(self.conn_window, stream.send_window, self.peer_max_frame, len(data) - sent)
                self.conn_window -= size
                stream.send_window -= size
            last = end_stream and sent + size == len(data)
            if not self.send(frame(DATA, END_STREAM if last else 0, stream_id, bytes(view[sent:sent + size])), deadline):
                return sent
            sent += size
            if last:
                break
        return sent

    def call(self, headers, body, deadline=None):
        """A whole request: HEADERS, then the body with END_STREAM. The stream id."""
        stream_id = self.open_stream(headers, deadline=deadline)
        if stream_id is not None:
            self.send_data(stream_id, body, end_stream=True, deadline=deadline)
        return stream_id

    def wait(self, predicate, timeout):
        """Waits until predicate() holds (checked under the lock) or the connection closed."""
        end = time.monotonic() + timeout
        with self.cond:
            while not predicate() and not self.closed:
                left = end - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(min(0.2, left))
            return predicate()

    def wait_stream(self, stream_id, timeout):
        stream = self.streams[stream_id]
        self.wait(lambda: stream.ended, timeout)
        return stream

    def close(self):
        with self._wcond:
            self._writer_done = True
            self._wcond.notify_all()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._mark_closed("closed by us")

    # -- receiving -------------------------------------------------------------------------------

    def _mark_closed(self, reason):
        with self.cond:
            if not self.closed:
                self.closed = True
                self.close_reason = reason
            self.cond.notify_all()
        with self._wcond:
            self._writer_done = True
            self._wcond.notify_all()

    def _stream(self, stream_id):
        stream = self.streams.get(stream_id)
        if stream is None:
            stream = self.streams[stream_id] = Stream(stream_id, self.peer_initial_window)
        return stream

    def _end(self, stream):
        if not stream.ended:
            stream.ended = True
            self.ended_count += 1
            if self.on_end is not None:
                self.on_end(stream)

    def _read_loop(self):
        buffer = bytearray()
        block = None  # (stream id, END_STREAM, header block so far) while CONTINUATION is due
        try:
            while True:
                chunk = self.sock.recv(1 << 18)
                if not chunk:
                    self._mark_closed("EOF from the proxy")
                    return
                buffer += chunk
                offset = 0
                while len(buffer) - offset >= 9:
                    length = int.from_bytes(buffer[offset:offset + 3], "big")
                    if len(buffer) - offset < 9 + length:
                        break
                    kind, flags, stream_id = struct.unpack_from(">BBI", buffer, offset + 3)
                    stream_id &= 0x7FFFFFFF
                    payload = bytes(buffer[offset + 9:offset + 9 + length])
                    offset += 9 + length
                    block = self._on_frame(kind, flags, stream_id, payload, block)
                del buffer[:offset]
        except OSError as err:
            self._mark_closed("read: %s" % err)
        except Exception as err:  # a frame this client cannot decode: say so, stop reading
            self._mark_closed("client could not decode a frame: %r" % err)

    def _on_frame(self, kind, flags, stream_id, payload, block):
        self.received[FRAME_NAMES[kind] if kind < len(FRAME_NAMES) else "0x%x" % kind] += 1
        with self.cond:
            if kind == DATA:
                self._on_data(flags, stream_id, payload)
            elif kind in (HEADERS, CONTINUATION):
                if kind == HEADERS:
                    if flags & PADDED:
                        payload = payload[1:len(payload) - payload[0]]
                    if flags & PRIORITY_FLAG:
                        payload = payload[5:]
                    block = (stream_id, flags & END_STREAM, bytearray(payload))
                elif block is not None:
                    block[2].extend(payload)
                if block is not None and flags & END_HEADERS:
                    self._on_headers(block[0], block[1], bytes(block[2]))
                    block = None
            elif kind == RST_STREAM and len(payload) >= 4:
                stream = self._stream(stream_id)
                stream.reset = struct.unpack(">I", payload[:4])[0]
                self._end(stream)
            elif kind == SETTINGS:
                if flags & ACK:
                    self.settings_acks += 1
                else:
                    self._on_settings(payload)
                    self._enqueue(frame(SETTINGS, ACK, 0), control=True)
            elif kind == PING:
                if flags & ACK:
                    self.ping_acks += 1
                elif self.answer_pings:
                    self._enqueue(frame(PING, ACK, 0, payload), control=True)
            elif kind == GOAWAY and len(payload) >= 8:
                last, code = struct.unpack(">II", payload[:8])
                self.goaway = (last & 0x7FFFFFFF, code, payload[8:].decode("utf-8", "replace"))
            elif kind == WINDOW_UPDATE and len(payload) >= 4:
                increment = struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF
                if stream_id == 0:
                    self.conn_window += increment
                else:
                    self._stream(stream_id).send_window += increment
            self.cond.notify_all()
        return block

    def _on_data(self, flags, stream_id, payload):
        stream = self._stream(stream_id)
        size = len(payload)
        if flags & PADDED and payload:
            payload = payload[1:len(payload) - payload[0]]
        stream.data_len += len(payload)
        room = KEEP_DATA - len(stream.data)
        if room > 0:
            stream.data += payload[:room]
        if flags & END_STREAM:
            self._end(stream)
        if self.auto_window and size:
            update = struct.pack(">I", size)
            self._enqueue(frame(WINDOW_UPDATE, 0, 0, update), control=True)
            if not stream.ended:
                self._enqueue(frame(WINDOW_UPDATE, 0, stream_id, update), control=True)

    def _on_headers(self, stream_id, end_stream, data):
        fields = self.decoder.decode(data, raw=True)
        stream = self._stream(stream_id)
        if stream.headers is None:
            stream.headers = fields
        else:
            stream.trailers = fields
        if end_stream:
            self._end(stream)

    def _on_settings(self, payload):
        self.peer_settings_seen = True
        for offset in range(0, len(payload) - len(payload) % 6, 6):
            key, value = struct.unpack_from(">HI", payload, offset)
            if key == SETTINGS_INITIAL_WINDOW_SIZE:
                delta = value - self.peer_initial_window
                self.peer_initial_window = value
                for stream in self.streams.values():
                    stream.send_window += delta
            elif key == SETTINGS_MAX_FRAME_SIZE:
                self.peer_max_frame = value
            elif key == SETTINGS_MAX_CONCURRENT_STREAMS:
                self.peer_max_streams = value

    def summary(self):
        """How the connection stands: GOAWAY (code, debug text), closed or open."""
        parts = []
        if self.goaway is not None:
            last, code, debug = self.goaway
            parts.append("GOAWAY %s last_stream=%d%s" % (error_name(code), last, (" %r" % debug) if debug else ""))
        parts.append("closed (%s)" % self.close_reason if self.closed else "open")
        return ", ".join(parts)
