// The page's script: calls the example function (api.Prod) from the browser with connect-es's
// gRPC-Web transport, and writes each answer into the page as it arrives.
//
// Where to call comes from the page's address: `index.html?endpoint=URL`, where URL is a
// Function URL or an API Gateway stage (`https://…/prod/`), or the proxy's listen address
// (`http://127.0.0.1:50051`). Without it the page calls the local proxy.

import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { Prod } from "./gen/prod_pb";

/** Where `scripts/serve-local.sh` serves the example. */
const DEFAULT_ENDPOINT = "http://127.0.0.1:50051";
/** How many messages the streamed call asks for. */
const COUNT = 3;

function element(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (found === null) {
    throw new Error(`the page has no #${id}`);
  }
  return found;
}

async function run(): Promise<void> {
  const params = new URLSearchParams(window.location.search);
  const endpoint = params.get("endpoint") ?? DEFAULT_ENDPOINT;
  element("endpoint").textContent = endpoint;

  // Binary gRPC-Web (application/grpc-web+proto); `useBinaryFormat: false` would send JSON,
  // which the function does not speak.
  const transport = createGrpcWebTransport({ baseUrl: endpoint, useBinaryFormat: true });
  const client = createClient(Prod, transport);

  const alive = await client.alive({ message: " from a browser" });
  element("alive").textContent = alive.message;

  const list = element("count");
  for await (const answer of client.count({ n: COUNT, delayMs: 0 })) {
    const item = document.createElement("li");
    item.textContent = `${answer.n}: ${answer.message}`;
    list.appendChild(item);
  }
  element("status").textContent = "done";
}

run().catch((err: unknown) => {
  // A failed call shows its gRPC status by name, and the message it came with.
  const text =
    err instanceof ConnectError ? `${Code[err.code]}: ${err.rawMessage}` : String(err);
  element("status").textContent = `error: ${text}`;
});
