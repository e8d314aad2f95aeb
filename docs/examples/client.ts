// A client of the server in a few lines, with connect-es (a dev dependency of this repository):
// GetEventStats over gRPC (HTTP/2) or gRPC-Web (HTTP/1.1).
//   node docs/examples/client.ts grpc|grpc-web [BASE_URL]      with an API key in CHAUKAS_KEY
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";

const [protocol, baseUrl = "http://127.0.0.1:50051"] = process.argv.slice(2);
const transport =
  protocol === "grpc-web" ? createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }) : createGrpcTransport({ baseUrl });
const client = createClient(ChaukasServerService, transport);
const stats = await client.getEventStats(
  { tenantId: "default" },
  { headers: { authorization: `Bearer ${process.env.CHAUKAS_KEY}` } },
);
console.log(`${protocol}: ${stats.totalEvents} events in ${stats.totalSessions} sessions`);
