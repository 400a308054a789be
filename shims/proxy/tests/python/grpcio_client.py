"""The proxy's end-to-end suite with Python's grpcio, an implementation independent of the Rust
stack. Usage: grpcio_client.py HOST:PORT. Exits non-zero on the first failed check.

Messages are encoded by hand (three small proto3 messages), so only grpcio is needed.
"""
import os
import sys
import time

import grpc

# The wire helpers shared with the other Python clients (test-support/python/protowire.py): on
# PYTHONPATH when a Rust test runs this script, found from here when it is run by hand.
_here = os.path.dirname(os.path.abspath(__file__))
while _here != os.path.dirname(_here) and not os.path.isdir(os.path.join(_here, "test-support")):
    _here = os.path.dirname(_here)
sys.path.append(os.path.join(_here, "test-support", "python"))
from protowire import fields, read_varint, varint  # noqa: E402


def alive_request(message):
    raw = message.encode()
    return b"\x0a" + varint(len(raw)) + raw if raw else b""


def message_of(data):
    return fields(data).get(1, [b""])[0].decode()


def count_request(n, delay_ms=0):
    return b"\x08" + varint(n) + (b"\x10" + varint(delay_ms) if delay_ms else b"")


def identity(data):
    return data


def check(condition, what):
    if not condition:
        print("FAILED:", what)
        sys.exit(1)
    print("ok:", what)


def main(target):
    channel = grpc.insecure_channel(
        target,
        options=[("grpc.max_receive_message_length", 8 << 20), ("grpc.max_send_message_length", 8 << 20)],
    )
    unary = lambda method: channel.unary_unary(  # noqa: E731
        "/api.Prod/" + method, request_serializer=identity, response_deserializer=identity
    )
    stream = channel.unary_stream("/api.Prod/Count", request_serializer=identity, response_deserializer=identity)

    reply = unary("Alive")(alive_request(" from grpcio"), timeout=10)
    check(message_of(reply) == "Hello, world. from grpcio", "Alive")

    try:
        unary("Fail")(alive_request("100% ✓"), timeout=10)
        check(False, "Fail fails")
    except grpc.RpcError as err:
        check(err.code() == grpc.StatusCode.INVALID_ARGUMENT, "Fail: INVALID_ARGUMENT")
        check(err.details() == "bad: 100% ✓", "Fail: percent-encoded message decoded: %r" % err.details())
        details = dict(err.trailing_metadata()).get("grpc-status-details-bin")
        check(details is not None, "Fail: grpc-status-details-bin present")
        status = fields(details)
        check(status.get(1) == [3] and status.get(2) == ["bad: 100% ✓".encode()], "Fail: details decode")

    replies = list(stream(count_request(3), timeout=10))
    check([fields(r).get(1, [0])[0] for r in replies] == [1, 2, 3], "Count")

    binary = bytes([0, 1, 2, 0xFE, 0xFF])
    call = stream(count_request(1), timeout=10, metadata=[("x-echo", "py"), ("x-echo-bin", binary)])
    list(call)
    initial = dict(call.initial_metadata())
    trailing = dict(call.trailing_metadata())
    check(initial.get("x-echo") == "py", "echo in headers")
    check(initial.get("x-echo-bin") == binary, "echo -bin in headers")
    check(trailing.get("x-echo-trailer") == "py", "echo in trailers")
    check(trailing.get("x-echo-trailer-bin") == binary, "echo -bin in trailers")

    big = "y" * (3 * 1024 * 1024)
    reply = unary("Alive")(alive_request(big), timeout=30)
    check(len(message_of(reply)) == len("Hello, world.") + len(big), "3 MiB both ways")

    start = time.monotonic()
    try:
        list(stream(count_request(2, 3000), timeout=0.3))
        check(False, "the deadline is exceeded")
    except grpc.RpcError as err:
        check(err.code() == grpc.StatusCode.DEADLINE_EXCEEDED, "deadline: DEADLINE_EXCEEDED")
        check(time.monotonic() - start < 2, "deadline: answered in time")

    try:
        unary("Nope")(b"", timeout=10)
        check(False, "an unknown method fails")
    except grpc.RpcError as err:
        check(err.code() == grpc.StatusCode.UNIMPLEMENTED, "unknown method: UNIMPLEMENTED")

    print("all grpcio checks passed")


if __name__ == "__main__":
    main(sys.argv[1])
