"""The gRPC interop cases (interop-test-descriptions.md) with Python's grpcio, a gRPC
implementation independent of the Rust stack, against grpc.testing.TestService behind the proxy.

Usage: interop.py HOST:PORT [CASE...]. Without cases, runs every case that passes through the
proxy. Exits non-zero on the first failed check.

The grpc.testing messages are encoded and decoded here by hand from their field numbers (see
proto/grpc/testing/messages.proto), so only grpcio is needed and the wire format is checked
independently of the Rust code generator.
"""
import os
import sys
import threading
import time

import grpc

# The wire helpers shared with the other Python clients (test-support/python/protowire.py): on
# PYTHONPATH when a Rust test runs this script, found from here when it is run by hand.
_here = os.path.dirname(os.path.abspath(__file__))
while _here != os.path.dirname(_here) and not os.path.isdir(os.path.join(_here, "test-support")):
    _here = os.path.dirname(_here)
sys.path.append(os.path.join(_here, "test-support", "python"))
from protowire import fields, read_varint, varint  # noqa: E402

SERVICE = "/grpc.testing.TestService/"
SPECIAL_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"


# --- protobuf wire format, the few pieces the suite needs ---------------------------------


def int_field(number, value):
    return varint(number << 3) + varint(value) if value else b""


def bytes_field(number, value):
    return varint(number << 3 | 2) + varint(len(value)) + value


def payload(size):
    """Payload { type: COMPRESSABLE (default, omitted), body: `size` zeros (field 2) }."""
    return bytes_field(2, bytes(size)) if size else b""


def echo_status(code, message):
    return int_field(1, code) + bytes_field(2, message.encode())


def simple_request(response_size=0, payload_size=0, status=None):
    """SimpleRequest: response_size = 2, payload = 3, response_status = 7."""
    out = int_field(2, response_size)
    if payload_size:
        out += bytes_field(3, payload(payload_size))
    if status:
        out += bytes_field(7, echo_status(*status))
    return out


def streaming_input_request(payload_size):
    """StreamingInputCallRequest: payload = 1."""
    return bytes_field(1, payload(payload_size))


def streaming_output_request(sizes=(), payload_size=0, status=None):
    """StreamingOutputCallRequest: response_parameters = 2 (size = 1), payload = 3,
    response_status = 7."""
    out = b"".join(bytes_field(2, int_field(1, size)) for size in sizes)
    if payload_size:
        out += bytes_field(3, payload(payload_size))
    if status:
        out += bytes_field(7, echo_status(*status))
    return out


def payload_body(response):
    """The payload body of a SimpleResponse or StreamingOutputCallResponse (payload = 1)."""
    inner = fields(response).get(1, [b""])[0]
    return fields(inner).get(2, [b""])[0]


def identity(data):
    return data


# --- the cases ------------------------------------------------------------------------------


def check(condition, what):
    if not condition:
        print("FAILED:", what)
        sys.exit(1)
    print("ok:", what)


def expect_error(call, code, what):
    try:
        result = call()
        if hasattr(result, "__iter__") and not isinstance(result, bytes):
            list(result)
    except grpc.RpcError as err:
        check(err.code() == code, "%s: %s (got %s: %r)" % (what, code, err.code(), err.details()))
        return err
    check(False, "%s: the call failed" % what)
    return None


class Calls:
    def __init__(self, channel):
        self.channel = channel

    def unary(self, method, service=SERVICE):
        return self.channel.unary_unary(
            service + method, request_serializer=identity, response_deserializer=identity
        )

    def server_stream(self, method):
        return self.channel.unary_stream(
            SERVICE + method, request_serializer=identity, response_deserializer=identity
        )

    def client_stream(self, method):
        return self.channel.stream_unary(
            SERVICE + method, request_serializer=identity, response_deserializer=identity
        )

    def bidi(self, method):
        return self.channel.stream_stream(
            SERVICE + method, request_serializer=identity, response_deserializer=identity
        )


def blocking_after(messages, release):
    """Yields `messages`, then waits for `release` without half-closing."""
    for message in messages:
        yield message
    release.wait()


def empty_unary(calls):
    reply = calls.unary("EmptyCall")(b"", timeout=10)
    check(reply == b"", "empty_unary: an empty response")


def large_unary(calls):
    reply = calls.unary("UnaryCall")(simple_request(314159, 271828), timeout=10)
    check(payload_body(reply) == bytes(314159), "large_unary: 314159 zero bytes")


def server_streaming(calls):
    replies = list(
        calls.server_stream("StreamingOutputCall")(
            streaming_output_request([31415, 9, 2653, 58979]), timeout=10
        )
    )
    sizes = [len(payload_body(reply)) for reply in replies]
    check(sizes == [31415, 9, 2653, 58979], "server_streaming: sizes %s" % sizes)
    check(all(payload_body(reply) == bytes(len(payload_body(reply))) for reply in replies),
          "server_streaming: zeros")


def client_streaming(calls):
    requests = iter([streaming_input_request(n) for n in (27182, 8, 1828, 45904)])
    reply = calls.client_stream("StreamingInputCall")(requests, timeout=10)
    total = fields(reply).get(1, [0])[0]
    check(total == 74922, "client_streaming: aggregated_payload_size %d" % total)


def empty_stream(calls):
    replies = list(calls.bidi("FullDuplexCall")(iter([]), timeout=10))
    check(replies == [], "empty_stream: zero responses")


def status_code_and_message(calls):
    status = (2, "test status message")
    err = expect_error(
        lambda: calls.unary("UnaryCall")(simple_request(status=status), timeout=10),
        grpc.StatusCode.UNKNOWN,
        "status_code_and_message (unary)",
    )
    check(err.details() == "test status message", "status_code_and_message (unary): message")
    err = expect_error(
        lambda: calls.bidi("FullDuplexCall")(
            iter([streaming_output_request(status=status)]), timeout=10
        ),
        grpc.StatusCode.UNKNOWN,
        "status_code_and_message (full duplex)",
    )
    check(err.details() == "test status message",
          "status_code_and_message (full duplex): message")


def special_status_message(calls):
    err = expect_error(
        lambda: calls.unary("UnaryCall")(simple_request(status=(2, SPECIAL_MESSAGE)), timeout=10),
        grpc.StatusCode.UNKNOWN,
        "special_status_message",
    )
    check(err.details() == SPECIAL_MESSAGE, "special_status_message: %r" % err.details())


def unimplemented_method(calls):
    expect_error(
        lambda: calls.unary("UnimplementedCall")(b"", timeout=10),
        grpc.StatusCode.UNIMPLEMENTED,
        "unimplemented_method",
    )


def unimplemented_service(calls):
    expect_error(
        lambda: calls.unary("UnimplementedCall", "/grpc.testing.UnimplementedService/")(
            b"", timeout=10
        ),
        grpc.StatusCode.UNIMPLEMENTED,
        "unimplemented_service",
    )


ECHO = [("x-grpc-test-echo-initial", "test_initial_metadata_value"),
        ("x-grpc-test-echo-trailing-bin", b"\xab\xab\xab")]


def check_echo(initial, trailing, what):
    initial, trailing = dict(initial), dict(trailing)
    check(initial.get("x-grpc-test-echo-initial") == "test_initial_metadata_value",
          "%s: initial echo %r" % (what, initial))
    check(trailing.get("x-grpc-test-echo-trailing-bin") == b"\xab\xab\xab",
          "%s: trailing echo %r" % (what, trailing))


def custom_metadata(calls):
    reply, call = calls.unary("UnaryCall").with_call(
        simple_request(314159, 271828), timeout=10, metadata=ECHO
    )
    check(len(payload_body(reply)) == 314159, "custom_metadata (unary): 314159 bytes")
    check_echo(call.initial_metadata(), call.trailing_metadata(), "custom_metadata (unary)")
    call = calls.bidi("FullDuplexCall")(
        iter([streaming_output_request([314159], 271828)]), timeout=10, metadata=ECHO
    )
    sizes = [len(payload_body(reply)) for reply in call]
    check(sizes == [314159], "custom_metadata (full duplex): sizes %s" % sizes)
    check_echo(call.initial_metadata(), call.trailing_metadata(), "custom_metadata (full duplex)")


def timeout_on_sleeping_server(calls):
    release = threading.Event()
    try:
        expect_error(
            lambda: calls.bidi("FullDuplexCall")(
                blocking_after([streaming_output_request(payload_size=27182)], release),
                timeout=0.001,
            ),
            grpc.StatusCode.DEADLINE_EXCEEDED,
            "timeout_on_sleeping_server",
        )
    finally:
        release.set()


def cancel_after_begin(calls):
    release = threading.Event()
    try:
        future = calls.client_stream("StreamingInputCall").future(
            blocking_after([], release), timeout=10
        )
        time.sleep(0.2)
        check(not future.done(), "cancel_after_begin: the call is under way")
        future.cancel()
        check(future.code() == grpc.StatusCode.CANCELLED,
              "cancel_after_begin: CANCELLED (got %s)" % future.code())
    finally:
        release.set()


def ping_pong(calls):
    """The bidi-only case: each request waits for the previous response."""
    release = threading.Event()
    start = time.monotonic()
    try:
        err = expect_error(
            lambda: calls.bidi("FullDuplexCall")(
                blocking_after([streaming_output_request([31415], 27182)], release), timeout=10
            ),
            grpc.StatusCode.UNIMPLEMENTED,
            "ping_pong",
        )
        check(err.details(), "ping_pong: the reason is named")
        check(time.monotonic() - start < 2, "ping_pong: answered at once")
    finally:
        release.set()


CASES = [
    empty_unary,
    large_unary,
    server_streaming,
    client_streaming,
    empty_stream,
    status_code_and_message,
    special_status_message,
    unimplemented_method,
    unimplemented_service,
    custom_metadata,
    timeout_on_sleeping_server,
    cancel_after_begin,
]


def main(target, names):
    channel = grpc.insecure_channel(target)
    calls = Calls(channel)
    by_name = {case.__name__: case for case in CASES + [ping_pong]}
    for case in [by_name[name] for name in names] if names else CASES:
        case(calls)
    print("all grpcio interop cases passed")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
