"""A Lambda function speaking the Runtime API with the standard library only, for the proxy's
failure tests. What it does depends on the method in the event's rawPath:

  /fake.F/Ok      a gRPC-Web response with one empty message and grpc-status 0
  /fake.F/Echo    every request header back as response headers (repeated values kept), and the
                  request body as the message
  /fake.F/Error   POST .../error  errorType MyError, errorMessage "it broke"
  /fake.F/Sleep   sleeps x-sleep-ms milliseconds, then answers as Ok
  /fake.F/Big     a response of about 7,000,000 bytes (over Lambda's 6 MB)
  /fake.F/Exit    the process exits with status 3 (a crash)
  /fake.F/Trace   answers as Ok, with the Runtime API's Lambda-Runtime-Trace-Id as the response
                  header x-runtime-trace-id
  /fake.F/Stream  the streaming response mode: prelude, 8 NUL bytes, raw gRPC-Web body
"""
import base64
import http.client
import json
import os
import struct
import sys
import time

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
PREFIX = "/2018-06-01/runtime"


def frame(flags, payload):
    return struct.pack(">BI", flags, len(payload)) + payload


def ok_body(message=b""):
    return frame(0, message) + frame(0x80, b"grpc-status: 0\r\n")


def post(path, body, headers=None):
    conn = http.client.HTTPConnection(API)
    conn.request("POST", PREFIX + path, body=body, headers=headers or {})
    conn.getresponse().read()
    conn.close()


def respond(request_id, headers, body):
    payload = {
        "statusCode": 200,
        "headers": headers,
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }
    post("/invocation/%s/response" % request_id, json.dumps(payload).encode())


def main():
    while True:
        conn = http.client.HTTPConnection(API)
        conn.request("GET", PREFIX + "/invocation/next")
        response = conn.getresponse()
        request_id = response.getheader("Lambda-Runtime-Aws-Request-Id")
        trace_id = response.getheader("Lambda-Runtime-Trace-Id")
        event = json.loads(response.read())
        conn.close()
        method = event.get("rawPath", "").rsplit("/", 1)[-1]
        multi = event.get("multiValueHeaders") or {}
        content_type = [["content-type", "application/grpc-web+proto"]]
        if method == "Error":
            post(
                "/invocation/%s/error" % request_id,
                json.dumps({"errorType": "MyError", "errorMessage": "it broke"}).encode(),
                {"Lambda-Runtime-Function-Error-Type": "MyError"},
            )
        elif method == "Trace":
            respond(request_id, content_type + [["x-runtime-trace-id", trace_id]], ok_body())
        elif method == "Exit":
            sys.exit(3)
        elif method == "Sleep":
            time.sleep(int(multi.get("x-sleep-ms", ["0"])[0]) / 1000.0)
            respond(request_id, content_type, ok_body())
        elif method == "Big":
            respond(request_id, content_type, ok_body(b"x" * 5_300_000))
        elif method == "Echo":
            pairs = content_type + [
                [name, value] for name, values in multi.items() if name.startswith("x-") for value in values
            ]
            body = base64.b64decode(event.get("body") or "")
            message = body[5:] if len(body) >= 5 else b""
            respond(request_id, pairs, ok_body(message))
        elif method == "Stream":
            prelude = json.dumps({"statusCode": 200, "headers": {"content-type": "application/grpc-web+proto"}})
            body = prelude.encode() + b"\0" * 8 + ok_body(b"\x0a\x08streamed")
            post(
                "/invocation/%s/response" % request_id,
                body,
                {
                    "Lambda-Runtime-Function-Response-Mode": "streaming",
                    "Content-Type": "application/vnd.awslambda.http-integration-response",
                },
            )
        else:
            respond(request_id, content_type, ok_body())


if __name__ == "__main__":
    main()
