"""A Lambda function speaking the Runtime API with the standard library only, for the service's
tests. The event is JSON; its "op" says what to do:

  echo     answer the event's bytes as they came
  context  answer what the invocation saw: request id, ARN, deadline, environment
  error    POST .../error: errorType MyError, errorMessage "it broke"
  exit     the process exits with status 3 (a crash)
  sleep    sleep "ms" milliseconds, then answer "slept"
  chunks   answer "one", "two", "three" as three chunks of a streamed response
"""
import http.client
import json
import os
import sys
import time

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
PREFIX = "/2018-06-01/runtime/invocation/"


def post(path, body, headers=None, chunked=False):
    conn = http.client.HTTPConnection(API)
    conn.request("POST", PREFIX + path, body=body, headers=headers or {}, encode_chunked=chunked)
    conn.getresponse().read()
    conn.close()


def main():
    while True:
        conn = http.client.HTTPConnection(API)
        conn.request("GET", PREFIX + "next")
        response = conn.getresponse()
        request_id = response.getheader("Lambda-Runtime-Aws-Request-Id")
        arn = response.getheader("Lambda-Runtime-Invoked-Function-Arn")
        deadline = response.getheader("Lambda-Runtime-Deadline-Ms")
        raw = response.read()
        conn.close()
        event = json.loads(raw)
        op = event.get("op")
        if op == "echo":
            post(request_id + "/response", raw)
        elif op == "context":
            answer = {
                "request_id": request_id,
                "arn": arn,
                "deadline_ms": int(deadline),
                "now_ms": int(time.time() * 1000),
                "function_name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
                "max_concurrency": os.environ.get("AWS_LAMBDA_MAX_CONCURRENCY"),
            }
            post(request_id + "/response", json.dumps(answer).encode())
        elif op == "error":
            post(
                request_id + "/error",
                json.dumps({"errorType": "MyError", "errorMessage": "it broke"}).encode(),
                {"Lambda-Runtime-Function-Error-Type": "MyError"},
            )
        elif op == "exit":
            sys.exit(3)
        elif op == "sleep":
            time.sleep(event.get("ms", 0) / 1000.0)
            post(request_id + "/response", b"slept")
        elif op == "chunks":
            post(
                request_id + "/response",
                iter([b"one", b"two", b"three"]),
                {"Lambda-Runtime-Function-Response-Mode": "streaming"},
                chunked=True,
            )


main()
