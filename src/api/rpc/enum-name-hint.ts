import { ConnectError, type ConnectRouter } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";
import { jsonRegistry } from "../../codec/formats/registry.ts";

/** How protobuf-es refuses an enum name it does not know in JSON. */
const UNKNOWN_ENUM_NAME = /cannot decode enum ([\w.]+) from JSON: "(\w+)"/;

/**
 * The refusal of an enum name written without its prefix (`"SESSION_START"`, as the REST API and
 * the dashboard write it) told with the full name protobuf JSON needs; undefined for any other.
 */
export function enumNameHint(message: string): string | undefined {
  const match = UNKNOWN_ENUM_NAME.exec(message);
  if (!match) return undefined;
  const [, typeName, given] = match;
  const full = jsonRegistry.getEnum(typeName)?.values.find((value) => value.localName === given);
  return full && `${message}: protobuf JSON names enum values in full, use "${full.name}"`;
}

/** A JSON decoding refusal (which carries no details) with the enum name hint added, as hintEnumNames adds it (direct-unary.ts). */
export function withEnumNameHint(error: ConnectError): ConnectError {
  const hint = enumNameHint(error.rawMessage);
  return hint ? new ConnectError(hint, error.code, error.metadata, undefined, error.cause) : error;
}

/**
 * Makes the router's handlers answer a Connect JSON request refused for an enum short name with
 * the full name to use. The request is decoded before any interceptor runs, so its refusal can
 * only be amended in the answer.
 */
export function hintEnumNames(router: ConnectRouter): void {
  router.handlers.forEach((handler, i) => {
    const hinted = async (req: Parameters<UniversalHandler>[0]) => withHint(await handler(req));
    router.handlers[i] = Object.assign(hinted, handler);
  });
}

async function withHint(res: UniversalServerResponse): Promise<UniversalServerResponse> {
  if (res.status !== 400 || !res.body || res.header?.get("content-type") !== "application/json") return res;
  const chunks: Uint8Array[] = [];
  for await (const chunk of res.body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  let body = bytes;
  try {
    const error = JSON.parse(bytes.toString("utf8"));
    const hint = typeof error.message === "string" ? enumNameHint(error.message) : undefined;
    if (hint) body = Buffer.from(JSON.stringify({ ...error, message: hint }));
  } catch {
    // Not JSON after all: answered as it is.
  }
  res.header?.delete("content-length");
  return {
    ...res,
    body: (async function* () {
      yield body;
    })(),
  };
}
