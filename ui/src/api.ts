import { createRegistry } from "@bufbuild/protobuf";
import { file_google_protobuf_struct, file_google_protobuf_timestamp } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { AuditService } from "../../gen/chaukas/backend/v1/audit_pb.ts";
import { SessionService } from "../../gen/chaukas/backend/v1/sessions_pb.ts";
import { TailService } from "../../gen/chaukas/backend/v1/tail_pb.ts";
import { file_chaukas_spec_common_v1_events } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { file_chaukas_spec_common_v1_query } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";

/** The server's services as the page calls them, over the transport the server chose for it. */
export interface Api {
  events: Client<typeof ChaukasServerService>;
  audit: Client<typeof AuditService>;
  sessions: Client<typeof SessionService>;
  tail: Client<typeof TailService>;
}

export type TransportKind = "grpc-web" | "connect";

/** The server writes its --ui-transport into this meta tag when it serves the page. */
export function configuredTransport(): TransportKind {
  const value = document.querySelector<HTMLMetaElement>('meta[name="chaukas-transport"]')?.content;
  return value === "grpc-web" ? "grpc-web" : "connect";
}

// Event.extensions are google.protobuf.Any: protobuf JSON names their types, known ones decode.
const registry = createRegistry(
  file_chaukas_spec_common_v1_events,
  file_chaukas_spec_common_v1_query,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
);

export function createApi(apiKey: string, kind: TransportKind = configuredTransport()): Api {
  const withKey: Interceptor = (next) => (request) => {
    request.header.set("Authorization", `Bearer ${apiKey}`);
    return next(request);
  };
  const baseUrl = window.location.origin;
  const transport: Transport =
    kind === "grpc-web"
      ? createGrpcWebTransport({ baseUrl, interceptors: [withKey] })
      : createConnectTransport({
          baseUrl,
          interceptors: [withKey],
          jsonOptions: { registry, ignoreUnknownFields: true },
        });
  return {
    events: createClient(ChaukasServerService, transport),
    audit: createClient(AuditService, transport),
    sessions: createClient(SessionService, transport),
    tail: createClient(TailService, transport),
  };
}

/** A sentence for the page: the server's message, named by what went wrong. */
export function errorText(err: unknown): string {
  if (err instanceof DOMException && err.name === "AbortError") return "cancelled";
  const error = ConnectError.from(err);
  switch (error.code) {
    case Code.Unauthenticated:
      return `The API key was not accepted: ${error.rawMessage}`;
    case Code.PermissionDenied:
      return `This key may not read that: ${error.rawMessage}`;
    case Code.Unimplemented:
      return `This server does not offer that view yet (${error.rawMessage})`;
    case Code.Unavailable:
      return `The server is unavailable: ${error.rawMessage}`;
    default:
      return error.rawMessage || String(err);
  }
}

export const isUnauthenticated = (err: unknown) => ConnectError.from(err).code === Code.Unauthenticated;
