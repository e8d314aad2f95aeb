import { create, createFileRegistry, createRegistry, type DescMessage, type Registry } from "@bufbuild/protobuf";
import {
  FileDescriptorProtoSchema,
  file_google_protobuf_any,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
} from "@bufbuild/protobuf/wkt";
import { file_chaukas_spec_client_v1_client } from "../../../gen/chaukas/spec/client/v1/client_pb.ts";
import { file_chaukas_spec_common_v1_events } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { file_chaukas_spec_common_v1_query } from "../../../gen/chaukas/spec/common/v1/query_pb.ts";
import { file_chaukas_spec_server_v1_server } from "../../../gen/chaukas/spec/server/v1/server_pb.ts";

/**
 * Every message type protobuf JSON may name inside a google.protobuf.Any (Event.extensions).
 * createRegistry does not follow imports, so the common spec files are listed themselves.
 */
const known = createRegistry(
  file_chaukas_spec_common_v1_events,
  file_chaukas_spec_common_v1_query,
  file_chaukas_spec_server_v1_server,
  file_chaukas_spec_client_v1_client,
  file_google_protobuf_any,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
);

const placeholders = new Map<string, DescMessage>();

/**
 * The registry for protobuf JSON. Extensions may pack any type, and one this server does not know
 * must not make a whole JSON response fail: such a type resolves to an empty placeholder message,
 * so JSON shows it as `{"@type": ...}` alone (binary protobuf and gRPC carry it whole, the REST
 * API carries it raw). JSON input naming such a type with fields is refused, not silently emptied.
 */
export const jsonRegistry: Registry = {
  kind: "registry",
  [Symbol.iterator]: () => known[Symbol.iterator](),
  get: (typeName) => known.get(typeName) ?? placeholder(typeName),
  getMessage: (typeName) => known.getMessage(typeName) ?? placeholder(typeName),
  getEnum: (typeName) => known.getEnum(typeName),
  getExtension: (typeName) => known.getExtension(typeName),
  getExtensionFor: (extendee, no) => known.getExtensionFor(extendee, no),
  getService: (typeName) => known.getService(typeName),
};

function placeholder(typeName: string): DescMessage | undefined {
  if (!/^[A-Za-z_][\w.]*$/.test(typeName)) return undefined;
  let message = placeholders.get(typeName);
  if (!message) {
    const dot = typeName.lastIndexOf(".");
    const file = create(FileDescriptorProtoSchema, {
      name: `placeholder/${typeName}.proto`,
      package: dot > 0 ? typeName.slice(0, dot) : "",
      messageType: [{ name: typeName.slice(dot + 1) }],
      syntax: "proto3",
    });
    message = createFileRegistry(file, () => undefined).getMessage(typeName);
    // Bounded, so a stream of made-up type names cannot grow memory without end.
    if (message && placeholders.size < 1024) placeholders.set(typeName, message);
  }
  return message;
}
