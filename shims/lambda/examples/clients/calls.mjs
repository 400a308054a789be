// Calls the example function (api.Prod) with stock Node clients and prints what each call gave,
// as one JSON object, for the test that runs it to compare field for field:
//
//   node calls.mjs http://127.0.0.1:PORT/BASE
//
// - connect-es's Connect transport, binary (`application/proto`, `application/connect+proto`)
//   and JSON (`application/json`, `application/connect+json`), POST and GET, requests plain and
//   gzipped;
// - connect-es's gRPC-Web transport, binary and JSON (`application/grpc-web+proto|+json`),
//   requests plain and gzipped;
// - twirp-ts's Twirp client (`NodeHttpRPC`), JSON and protobuf, under `BASE/twirp`.
//
// Every call is made over HTTP/1.1 (what API Gateway, Function URLs, ALB and VPC Lattice speak to a
// client; the proxy's gRPC-Web port speaks it too), and sends the metadata the example echoes
// (`x-echo`, `x-echo-bin`). A call that fails prints its error instead of its answer, so one run
// shows every call's outcome.

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { NodeHttpRPC, TwirpError } from "twirp-ts";
import { AliveRequestSchema, AliveResponseSchema, Prod } from "./gen/prod_pb.js";

/** The request metadata the example echoes: text, and bytes 0..3 in unpadded base64. */
const ECHO = { "x-echo": "v1", "x-echo-bin": "AAECAw" };
/** The response headers and trailers a call reports: the echoes and the content type. */
const HEADERS = ["content-type", "x-echo", "x-echo-bin"];
const TRAILERS = ["x-echo-trailer", "x-echo-trailer-bin"];
/** The deadline the server is asked to hold a slow stream to, in milliseconds. */
const DEADLINE_MS = 200;
/** A slow stream: the first message at once, the next ones a second apart. */
const SLOW_COUNT = { n: 3, delayMs: 1000 };

/** `InvalidArgument` → `invalid_argument`, the protocol's spelling of a code. */
function codeName(code) {
  return Code[code].replace(/[A-Z]/g, (c, at) => (at === 0 ? "" : "_") + c.toLowerCase());
}

/** The named entries of `headers`, those present. */
function pick(headers, names) {
  const out = {};
  for (const name of names) {
    const value = headers?.get(name);
    if (value !== null && value !== undefined) {
      out[name] = value;
    }
  }
  return out;
}

function bytesBase64(bytes) {
  return Buffer.from(bytes).toString("base64");
}

/** What a failed call reports: the code by name, the message, the details and metadata. */
function failure(err) {
  if (err instanceof ConnectError) {
    return {
      error: {
        code: codeName(err.code),
        message: err.rawMessage,
        // connect-es hands incoming details over undecoded, as `{ type, value }`.
        details: err.details.map((d) => ({
          type: "desc" in d ? d.desc.typeName : d.type,
          value: bytesBase64(d.value),
        })),
        metadata: pick(err.metadata, [...HEADERS.slice(1), ...TRAILERS]),
      },
    };
  }
  if (err instanceof TwirpError) {
    return { error: { code: err.code, msg: err.msg, meta: err.meta } };
  }
  return { error: { thrown: String(err) } };
}

/** The options of a call that records its response headers and trailers into `seen`. */
function recording(seen, extra = {}) {
  return {
    headers: ECHO,
    onHeader: (h) => (seen.headers = pick(h, HEADERS)),
    onTrailer: (t) => (seen.trailers = pick(t, TRAILERS)),
    ...extra,
  };
}

/** An interceptor that sets request header `name: value` (a deadline the client does not
 * enforce itself, so that the answer is the server's). */
function setHeader(name, value) {
  return (next) => async (req) => {
    req.header.set(name, value);
    return next(req);
  };
}

/** The calls every transport makes, named `PREFIX.alive` and so on. */
async function rpcCalls(prefix, client, results, deadline) {
  await record(results, `${prefix}.alive`, async () => {
    const seen = {};
    const answer = await client.alive({ message: "x" }, recording(seen));
    return { message: answer.message, ...seen };
  });
  await record(results, `${prefix}.fail`, async () => {
    await client.fail({ message: "x" }, { headers: ECHO });
    return { unexpected: "no error" };
  });
  await record(results, `${prefix}.count`, async () => {
    const seen = {};
    const messages = [];
    for await (const m of client.count({ n: 3, delayMs: 1 }, recording(seen))) {
      messages.push({ n: m.n, message: m.message });
    }
    return { messages, ...seen };
  });
  if (deadline !== undefined) {
    await record(results, `${prefix}.deadline`, async () => {
      const messages = [];
      try {
        for await (const m of deadline.count(SLOW_COUNT, { headers: ECHO })) {
          messages.push({ n: m.n, message: m.message });
        }
      } catch (err) {
        return { messages, ...failure(err) };
      }
      return { messages, unexpected: "no error" };
    });
  }
}

/** Fails the call in flight with an error thrown where no promise catches it: twirp-ts parses a
 * non-200 answer's body as JSON in an event handler, so a body that is not JSON throws there. */
let failInFlight = (err) => {
  throw err;
};
process.on("uncaughtException", (err) => failInFlight(err));

async function record(results, name, call) {
  try {
    results[name] = await new Promise((resolve, reject) => {
      failInFlight = reject;
      call().then(resolve, reject);
    });
  } catch (err) {
    results[name] = failure(err);
  }
}

async function main() {
  const baseUrl = process.argv[2];
  if (baseUrl === undefined) {
    throw new Error("usage: node calls.mjs BASE_URL");
  }
  if (Prod.method.alive.idempotency !== 1) {
    throw new Error("gen/prod_pb.js is stale: Alive must be NO_SIDE_EFFECTS (npm run generate)");
  }
  const results = {};
  const httpVersion = "1.1";

  for (const [name, useBinaryFormat] of [["proto", true], ["json", false]]) {
    const options = { baseUrl, httpVersion, useBinaryFormat };
    const grpcWeb = createClient(Prod, createGrpcWebTransport(options));
    const grpcWebDeadline = createClient(
      Prod,
      createGrpcWebTransport({ ...options, interceptors: [setHeader("grpc-timeout", `${DEADLINE_MS}m`)] }),
    );
    await rpcCalls(`grpc_web.${name}`, grpcWeb, results, grpcWebDeadline);
    // A gzipped request (`grpc-encoding: gzip`, flag 0x01).
    const grpcWebGzip = createClient(
      Prod,
      createGrpcWebTransport({ ...options, sendCompression: compressionGzip, compressMinBytes: 0 }),
    );
    await record(results, `grpc_web.${name}.gzip_alive`, async () => {
      const seen = {};
      const answer = await grpcWebGzip.alive({ message: "x" }, recording(seen));
      return { message: answer.message, ...seen };
    });

    const connect = createClient(Prod, createConnectTransport(options));
    const connectDeadline = createClient(
      Prod,
      createConnectTransport({ ...options, interceptors: [setHeader("connect-timeout-ms", `${DEADLINE_MS}`)] }),
    );
    await rpcCalls(`connect.${name}`, connect, results, connectDeadline);
    // The client's own deadline: `connect-timeout-ms` sent, and held by the client too.
    await record(results, `connect.${name}.timeout`, async () => {
      for await (const _ of connect.count(SLOW_COUNT, { timeoutMs: DEADLINE_MS })) {
        // Drained: the answer that matters is the error.
      }
      return { unexpected: "no error" };
    });
    // Requests gzipped (`content-encoding` for unary, flag 0x01 and `connect-content-encoding`
    // for a stream), answers gzipped if the server chooses (connect-node accepts gzip).
    const gzip = createClient(
      Prod,
      createConnectTransport({ ...options, sendCompression: compressionGzip, compressMinBytes: 0 }),
    );
    await record(results, `connect.${name}.gzip_alive`, async () => {
      const seen = {};
      const answer = await gzip.alive({ message: "x" }, recording(seen));
      return { message: answer.message, ...seen };
    });
    await record(results, `connect.${name}.gzip_count`, async () => {
      const seen = {};
      const messages = [];
      for await (const m of gzip.count({ n: 3, delayMs: 1 }, recording(seen))) {
        messages.push({ n: m.n, message: m.message });
      }
      return { messages, ...seen };
    });
    // Connect GET: `Alive` is side-effect free, so the transport sends it as a GET.
    const get = createClient(Prod, createConnectTransport({ ...options, useHttpGet: true }));
    await record(results, `connect.${name}.get`, async () => {
      const seen = {};
      const answer = await get.alive({ message: "x" }, recording(seen));
      return { message: answer.message, ...seen };
    });
  }

  const twirp = NodeHttpRPC({ baseUrl: `${baseUrl.replace(/\/$/, "")}/twirp`, headers: ECHO });
  for (const method of ["Alive", "Fail"]) {
    await record(results, `twirp.json.${method.toLowerCase()}`, async () =>
      twirp.request("api.Prod", method, "application/json", { message: "x" }),
    );
    await record(results, `twirp.proto.${method.toLowerCase()}`, async () => {
      const request = toBinary(AliveRequestSchema, create(AliveRequestSchema, { message: "x" }));
      const answer = await twirp.request("api.Prod", method, "application/protobuf", request);
      return { message: fromBinary(AliveResponseSchema, answer).message };
    });
  }

  process.stdout.write(JSON.stringify(results, null, 1) + "\n");
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
