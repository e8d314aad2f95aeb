import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/**
 * A standard gRPC client (@grpc/grpc-js) built from the project's .proto files at run time, the way
 * a third-party gRPC user would: no generated code, proto field names (keepCase), enums as names,
 * int64 as strings, every field present (defaults) and the set oneof case named in `content`.
 */
const definition = protoLoader.loadSync(
  ["chaukas/spec/server/v1/server.proto", "chaukas/spec/client/v1/client.proto"],
  {
    includeDirs: [fileURLToPath(new URL("../../../proto", import.meta.url))],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  },
);

export type GrpcService = "chaukas.spec.server.v1.ChaukasServerService" | "chaukas.spec.client.v1.ChaukasClientService";

// biome-ignore lint/suspicious/noExplicitAny: responses are plain objects shaped by the .proto files at run time.
export type Plain = Record<string, any>;

type UnaryMethod = (
  request: object,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response: Plain) => void,
) => void;

export interface GrpcJsClient {
  call(method: string, request: object, callOptions?: grpc.CallOptions): Promise<Plain>;
  close(): void;
}

/** A client for `service` at `host:port`, over cleartext HTTP/2 unless credentials say otherwise. */
export function grpcJsClient(
  service: GrpcService,
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): GrpcJsClient {
  const Client = grpc.makeClientConstructor(definition[service] as grpc.ServiceDefinition, service);
  const client = new Client(address, credentials, options);
  return {
    call: (method, request, callOptions = {}) =>
      new Promise((resolve, reject) => {
        const fn = (client as unknown as Record<string, UnaryMethod>)[method];
        fn.call(client, request, callOptions, (err, response) => (err ? reject(err) : resolve(response)));
      }),
    close: () => client.close(),
  };
}
