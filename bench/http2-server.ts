/**
 * Node's HTTP/2 alone, for the framework tax (tax.ts): an h2c server that answers every stream as
 * a successful unary gRPC call with one empty message, on the stream API (no compatibility layer,
 * no framework), on a free port. The floor of a gRPC call's CPU in Node.js on this machine. Prints
 * the listening line the server prints.
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { EMPTY_GRPC_MESSAGE, GRPC_OK_TRAILERS } from "./raw-grpc.ts";

const server = http2.createServer();
server.on("stream", (stream) => {
  stream.resume();
  stream.once("end", () => {
    stream.respond({ ":status": 200, "content-type": "application/grpc+proto" }, { waitForTrailers: true });
    stream.once("wantTrailers", () => stream.sendTrailers(GRPC_OK_TRAILERS));
    stream.end(EMPTY_GRPC_MESSAGE);
  });
});
server.listen(0, "127.0.0.1", () => {
  console.log(`Server listening at http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.once("SIGTERM", () => server.close());
