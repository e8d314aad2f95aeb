import http2 from "node:http2";
import type { DescMessage, DescMethod, DescMethodUnary, DescService } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  createHandlerContext,
  type HandlerContext,
  type Interceptor,
  type MethodImpl,
  type MethodImplSpec,
  type ServiceImpl,
} from "@connectrpc/connect";
import {
  type Compression,
  compressionNegotiate,
  createMethodSerializationLookup,
  encodeEnvelope,
  invokeUnaryImplementation,
  type MethodSerializationLookup,
  mergeNonProtocolHeaders,
  readAllBytes,
} from "@connectrpc/connect/protocol";
import * as connectProtocol from "@connectrpc/connect/protocol-connect";
import * as grpcProtocol from "@connectrpc/connect/protocol-grpc";
import type { FastifyReply, FastifyRequest, RouteHandlerMethod, RouteOptions } from "fastify";
import { receivedBody } from "../http/http-auth.ts";
import { isIdentity } from "./compression.ts";
import { withEnumNameHint } from "./enum-name-hint.ts";
import { PREFIX_BYTES } from "./envelope-flags.ts";
import { grpcMessageOf } from "./grpc-message-answers.ts";

/** What the Connect plugins are given too (server.ts), so both paths answer alike. */
export interface DirectUnaryOptions {
  readMaxBytes: number;
  /** Compressions a Connect answer may be sent in, as connect-node's `acceptCompression`. */
  acceptCompression: Compression[];
  jsonOptions: Parameters<typeof createMethodSerializationLookup>[2];
  interceptors: Interceptor[];
  requestGate: (ctx: HandlerContext) => Promise<void>;
  contextValues: (request: FastifyRequest) => ContextValues;
  /** Told of each request answered here (its log line says so). */
  answeredDirectly: (request: FastifyRequest) => void;
}

interface DirectMethod {
  spec: MethodImplSpec & { kind: "unary" };
  serialization: MethodSerializationLookup<DescMessage, DescMessage>;
}

/** The Compressed-Flag of a gRPC message prefix. */
const COMPRESSED_FLAG = 1;

/** connect-node's default: smaller answers are sent uncompressed whatever the client accepts. */
const COMPRESS_MIN_BYTES = 1024;

/** The two shapes served here; every other request of the route goes to connect-node. */
interface DirectProtocol {
  name: "connect" | "grpc";
  binary: boolean;
}

/**
 * Unary calls answered without connect-node's per-call pipeline (ADRs 0025, 0027, 0031): a Connect
 * unary POST (JSON or binary) or a gRPC call over HTTP/2, with an uncompressed request and no
 * deadline. The route, its hooks (request gate, log line, metrics, CORS), the handler, the
 * interceptors, the serialization (unless the answer was written when it was made), a Connect
 * answer's compression and the error answers are the ones connect-node uses (a gRPC answer here is
 * uncompressed, as its request: compression.ts); only the per-call transport work is done here.
 * Any other request on the same route (gRPC-Web, a compressed request, a deadline, GET, a streaming
 * content type, another Connect protocol version, gRPC over HTTP/1.1) is connect-node's.
 */
export class DirectUnary {
  private readonly methods = new Map<string, DirectMethod>();
  private readonly options: DirectUnaryOptions;

  constructor(options: DirectUnaryOptions) {
    this.options = options;
  }

  /** Serves these unary methods of `service` directly; call before the routes are registered. */
  add<S extends DescService>(
    service: S,
    impl: ServiceImpl<S>,
    names: readonly (keyof ServiceImpl<S> & string)[],
  ): void {
    for (const name of names) {
      const method: DescMethod = service.method[name];
      if (method.methodKind !== "unary") throw new Error(`${service.typeName}.${method.name} is not unary`);
      this.addMethod(method as DescMethodUnary, (impl[name] as DirectMethod["spec"]["impl"]).bind(impl));
    }
  }

  /** Serves one unary method directly (a wire twin's, say); call before its route is registered. */
  addMethod<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    impl: MethodImpl<typeof method>,
  ): void {
    const unary = method as unknown as DescMethodUnary;
    this.methods.set(`/${method.parent.typeName}/${method.name}`, {
      spec: { kind: "unary", method: unary, impl: impl as DirectMethod["spec"]["impl"] },
      serialization: createMethodSerializationLookup(unary, undefined, this.options.jsonOptions, {
        readMaxBytes: this.options.readMaxBytes,
        writeMaxBytes: 0xffffffff,
      }),
    });
  }

  /** An onRoute hook for the Connect plugin's scope: requests of the shapes served here skip connect-node. */
  readonly onRoute = (route: RouteOptions): void => {
    const direct = this.methods.get(route.url);
    if (!direct) return;
    const viaConnect = route.handler;
    const serve = this.serve.bind(this, direct);
    route.handler = function directOrConnect(request, reply) {
      const protocol = directProtocolOf(request);
      return protocol ? serve(protocol, request, reply) : viaConnect.call(this, request, reply);
    } as RouteHandlerMethod;
  };

  private async serve(direct: DirectMethod, protocol: DirectProtocol, request: FastifyRequest, reply: FastifyReply) {
    const { method } = direct.spec;
    const grpc = protocol.name === "grpc";
    this.options.answeredDirectly(request);
    const ctx = createHandlerContext({
      service: method.parent,
      method,
      protocolName: protocol.name,
      requestMethod: "POST",
      url: `${request.protocol}://${request.host}${request.url}`,
      requestHeader: headerPairs(request.headers),
      responseHeader: { "content-type": contentTypeOf(protocol) },
      responseTrailer: grpc ? { "grpc-status": grpcProtocol.grpcStatusOk } : undefined,
      contextValues: this.options.contextValues(request),
    });
    let status = 200;
    let body: Uint8Array;
    try {
      await this.options.requestGate(ctx);
      const input = grpc
        ? await this.readGrpc(direct, protocol, request)
        : await this.readConnect(direct, protocol, request);
      const output = await invokeUnaryImplementation(direct.spec, ctx, input, this.options.interceptors);
      // An answer written when it was made is sent as it is (grpc-message-answers.ts).
      // A gRPC answer is not compressed: neither was its request (compression.ts).
      const grpcMessage = protocol.binary ? grpcMessageOf(output) : undefined;
      if (grpcMessage) body = grpc ? grpcMessage : grpcMessage.subarray(PREFIX_BYTES);
      else {
        const message = direct.serialization.getO(protocol.binary).serialize(output);
        body = grpc ? encodeEnvelope(0, message) : message;
      }
    } catch (err) {
      let error =
        err instanceof ConnectError
          ? err
          : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
      if (grpc) {
        grpcProtocol.setTrailerStatus(ctx.responseTrailer, error);
        body = new Uint8Array(0);
      } else {
        if (!protocol.binary) error = withEnumNameHint(error);
        status = connectProtocol.codeToHttpStatus(error.code);
        ctx.responseHeader.set("content-type", connectProtocol.contentTypeUnaryJson);
        if (!error.isWireError) mergeNonProtocolHeaders(ctx.responseHeader, error.metadata);
        body = connectProtocol.errorToJsonBytes(error, this.options.jsonOptions);
      }
    }
    if (grpc) {
      send(reply, status, ctx.responseHeader, body, ctx.responseTrailer);
      return;
    }
    const compression =
      body.byteLength >= COMPRESS_MIN_BYTES ? negotiated(this.options.acceptCompression, request) : null;
    if (compression) {
      body = await compression.compress(body);
      ctx.responseHeader.set("content-encoding", compression.name);
    }
    send(reply, status, connectProtocol.trailerMux(ctx.responseHeader, ctx.responseTrailer), body);
  }

  /** A Connect unary body: the message, whole. */
  private async readConnect(direct: DirectMethod, protocol: DirectProtocol, request: FastifyRequest) {
    const bytes = await readAllBytes(
      receivedBody(request),
      this.options.readMaxBytes,
      request.headers["content-length"] ?? null,
    );
    return direct.serialization.getI(protocol.binary).parse(bytes);
  }

  /** A gRPC body's one message (compressed calls are connect-node's). */
  private async readGrpc(direct: DirectMethod, protocol: DirectProtocol, request: FastifyRequest) {
    const serialization = direct.serialization.getI(protocol.binary);
    return onlyGrpcMessage(receivedBody(request), this.options.readMaxBytes, (data) => serialization.parse(data));
  }
}

/**
 * Reads a unary gRPC body as connect-node does, with its errors in the same order: each chunk is
 * split into messages, every prefix's declared size checked against the limit as it arrives; then
 * each message in turn is refused if compressed, decoded, and refused if it is not the first. Bytes
 * left over at the end are an incomplete envelope; no message at all is a missing one.
 */
async function onlyGrpcMessage<T>(
  body: AsyncIterable<Uint8Array>,
  readMaxBytes: number,
  parse: (data: Uint8Array) => T,
) {
  let first: { message: T } | undefined;
  const pending = new ReceivedBytes();
  for await (const chunk of body) {
    pending.push(chunk);
    const complete: Uint8Array[] = [];
    for (;;) {
      if (pending.length < PREFIX_BYTES) break;
      const length = pending.prefixLength();
      if (length > readMaxBytes) {
        throw new ConnectError(
          `message size ${length} is larger than configured readMaxBytes ${readMaxBytes}`,
          Code.ResourceExhausted,
        );
      }
      if (pending.length < PREFIX_BYTES + length) break;
      complete.push(pending.take(PREFIX_BYTES + length));
    }
    for (const envelope of complete) {
      if ((envelope[0] & COMPRESSED_FLAG) === COMPRESSED_FLAG) {
        throw new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal);
      }
      const message = parse(envelope.subarray(PREFIX_BYTES));
      if (first)
        throw new ConnectError("protocol error: received extra input message for unary method", Code.Unimplemented);
      first = { message };
    }
  }
  if (pending.length > 0) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  if (!first) throw new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
  return first.message;
}

/**
 * The bytes of a gRPC body not yet split into messages, as the chunks they came in: each message
 * is joined once, when it is complete, so a message sent in many small frames costs no more than
 * one sent whole.
 */
class ReceivedBytes {
  private chunks: Uint8Array[] = [];
  length = 0;

  push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.length += chunk.byteLength;
  }

  /** The declared length in the next message's prefix (the caller has checked PREFIX_BYTES are here). */
  prefixLength(): number {
    const prefix = new Uint8Array(PREFIX_BYTES);
    let filled = 0;
    for (const chunk of this.chunks) {
      const part = chunk.subarray(0, PREFIX_BYTES - filled);
      prefix.set(part, filled);
      filled += part.byteLength;
      if (filled === PREFIX_BYTES) break;
    }
    return new DataView(prefix.buffer).getUint32(1);
  }

  /** The first `count` bytes, removed: a view when one chunk holds them, else one copy. */
  take(count: number): Uint8Array {
    this.length -= count;
    const first = this.chunks[0];
    if (first.byteLength >= count) {
      if (first.byteLength === count) this.chunks.shift();
      else this.chunks[0] = first.subarray(count);
      return first.subarray(0, count);
    }
    const taken = new Uint8Array(count);
    for (let filled = 0; filled < count; ) {
      const chunk = this.chunks[0];
      const part = chunk.subarray(0, count - filled);
      taken.set(part, filled);
      filled += part.byteLength;
      if (part.byteLength === chunk.byteLength) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(part.byteLength);
    }
    return taken;
  }
}

/** The compression a Connect answer may be sent in, by the client's `accept-encoding`: the first taken. */
function negotiated(available: Compression[], request: FastifyRequest): Compression | null {
  const accepted = request.headers["accept-encoding"];
  return compressionNegotiate(available, null, typeof accepted === "string" ? accepted : null, "accept-encoding")
    .response;
}

/** The shape of a request served directly, or undefined for connect-node's. */
function directProtocolOf(request: FastifyRequest): DirectProtocol | undefined {
  if (request.method !== "POST") return undefined;
  const headers = request.headers;
  const contentType = headers["content-type"];
  const grpc = grpcProtocol.parseContentType(contentType ?? null);
  if (grpc) {
    const served =
      request.raw.httpVersionMajor === 2 &&
      headers["grpc-timeout"] === undefined &&
      isIdentity(headers["grpc-encoding"]);
    return served ? { name: "grpc", binary: grpc.binary } : undefined;
  }
  const connect = connectProtocol.parseContentType(contentType ?? null);
  if (!connect || connect.stream) return undefined;
  const version = headers["connect-protocol-version"];
  const served =
    headers["connect-timeout-ms"] === undefined &&
    isIdentity(headers["content-encoding"]) &&
    (version === undefined || version === connectProtocol.protocolVersion);
  return served ? { name: "connect", binary: connect.binary } : undefined;
}

function contentTypeOf(protocol: DirectProtocol): string {
  if (protocol.name === "grpc") return protocol.binary ? grpcProtocol.contentTypeProto : grpcProtocol.contentTypeJson;
  return protocol.binary ? connectProtocol.contentTypeUnaryProto : connectProtocol.contentTypeUnaryJson;
}

/** Node's request headers as name-value pairs for a WHATWG Headers, without HTTP/2's pseudo-headers. */
function headerPairs(headers: FastifyRequest["headers"]): [string, string][] {
  const pairs: [string, string][] = [];
  for (const name in headers) {
    if (name.startsWith(":")) continue;
    const value = headers[name];
    if (Array.isArray(value)) for (const item of value) pairs.push([name, item]);
    else if (value !== undefined) pairs.push([name, value]);
  }
  return pairs;
}

/** Writes the answer: Fastify's own reply headers (CORS) first, as connect-fastify does. */
function send(reply: FastifyReply, status: number, header: Headers, body: Uint8Array, trailer?: Headers): void {
  const res = reply.raw;
  // The client went away (the HTTP/2 compatibility response has no `destroyed` of its own).
  if (res instanceof http2.Http2ServerResponse ? res.stream.destroyed : res.destroyed) return;
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) res.setHeader(name, value);
  for (const [name, value] of header) res.setHeader(name, value);
  if (!trailer) res.setHeader("content-length", body.byteLength);
  res.statusCode = status;
  if (trailer && res instanceof http2.Http2ServerResponse) {
    const trailers: Record<string, string> = {};
    for (const [name, value] of trailer) trailers[name] = value;
    res.addTrailers(trailers);
  }
  res.end(body);
}
