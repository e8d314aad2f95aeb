// A client of the server in a few lines, with connect-es (a dev dependency of this repository):
// GetEventStats over gRPC (HTTP/2) or gRPC-Web (HTTP/1.1).
//   npx node docs/examples/client.ts grpc|grpc-web [BASE_URL]      with an API key in CHAUKAS_KEY
// (`npx node`: the project's Node.js 24, which runs TypeScript as it is.)
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";

const [protocol, baseUrl = "http://127.0.0.1:50051"] = process.argv.slice(2);
const key = process.env.CHAUKAS_KEY;
if (!key) {
  console.error("set CHAUKAS_KEY to an API key (npx chaukas keys create --tenant default --role read)");
  process.exit(1);
}
const transport =
  protocol === "grpc-web" ? createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }) : createGrpcTransport({ baseUrl });
const client = createClient(ChaukasServerService, transport);
const stats = await client.getEventStats(
  { tenantId: "default" },
  { headers: { authorization: `Bearer ${key}` } },
);
const count = (n: bigint, noun: string) => `${n} ${noun}${n === 1n ? "" : "s"}`;
console.log(`${protocol}: ${count(stats.totalEvents, "event")}, ${count(stats.totalSessions, "session")}`);
