import http2 from "node:http2";
import {
  create,
  type DescMessage,
  type DescMethod,
  type DescMethodUnary,
  type DescService,
  isMessage,
  type Message,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  createHandlerContext,
  type HandlerContext,
  type Interceptor,
  type ServiceImpl,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import {
  createMethodSerializationLookup,
  encodeEnvelope,
  type MethodSerializationLookup,
  mergeNonProtocolHeaders,
  readAllBytes,
} from "@connectrpc/connect/protocol";
import * as connectProtocol from "@connectrpc/connect/protocol-connect";
import * as grpcProtocol from "@connectrpc/connect/protocol-grpc";
import type { FastifyReply, FastifyRequest, RouteHandlerMethod, RouteOptions } from "fastify";
import { withEnumNameHint } from "./enum-name-hint.ts";

/** What the Connect plugins are given too (server.ts), so both paths answer alike. */
export interface DirectUnaryOptions {
  readMaxBytes: number;
  jsonOptions: Parameters<typeof createMethodSerializationLookup>[2];
  interceptors: Interceptor[];
  requestGate: (ctx: HandlerContext) => Promise<void>;
  contextValues: (request: FastifyRequest) => ContextValues;
  /** Told of each request answered here (its log line says so). */
  answeredDirectly: (request: FastifyRequest) => void;
}

interface DirectMethod {
  method: DescMethodUnary;
  impl: (request: never, ctx: HandlerContext) => unknown;
  serialization: MethodSerializationLookup<DescMessage, DescMessage>;
}

/** The two shapes served here; every other request of the route goes to connect-node. */
interface DirectProtocol {
  name: "connect" | "grpc";
  binary: boolean;
}

/** Header values that mean "not compressed". */
const IDENTITY = new Set([undefined, "identity"]);

/**
 * Small unary calls answered without connect-node's per-call pipeline (ADR 0025): a Connect unary
 * POST (JSON or binary) or a gRPC call over HTTP/2, uncompressed and without a deadline. The
 * route, its hooks (request gate, log line, metrics, CORS), the handler, the interceptors, the
 * serialization and the error answers are the ones connect-node uses; only the per-call transport
 * work is done here. Any other request on the same route (gRPC-Web, compression, a deadline, GET,
 * HTTP/1.1 gRPC) is connect-node's.
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
      this.methods.set(`/${service.typeName}/${method.name}`, {
        method: method as DescMethodUnary,
        impl: (impl[name] as DirectMethod["impl"]).bind(impl),
        serialization: createMethodSerializationLookup(method, undefined, this.options.jsonOptions, {
          readMaxBytes: this.options.readMaxBytes,
          writeMaxBytes: 0xffffffff,
        }),
      });
    }
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
    const { method } = direct;
    const grpc = protocol.name === "grpc";
    this.options.answeredDirectly(request);
    const ctx = createHandlerContext({
      service: method.parent,
      method,
      protocolName: protocol.name,
      requestMethod: "POST",
      url: `${request.protocol}://${request.host}${request.url}`,
      requestHeader: webHeaders(request.headers),
      responseHeader: { "content-type": contentTypeOf(protocol) },
      responseTrailer: grpc ? { "grpc-status": grpcProtocol.grpcStatusOk } : undefined,
      contextValues: this.options.contextValues(request),
    });
    let status = 200;
    let body: Uint8Array;
    try {
      await this.options.requestGate(ctx);
      const received = (request.body as AsyncIterable<Uint8Array> | undefined) ?? request.raw;
      const bytes = await readAllBytes(received, this.options.readMaxBytes, request.headers["content-length"] ?? null);
      const input = direct.serialization.getI(protocol.binary).parse(grpc ? onlyMessage(bytes) : bytes);
      const output = await this.invoke(direct, ctx, input);
      body = direct.serialization.getO(protocol.binary).serialize(output);
      if (grpc) body = encodeEnvelope(0, body);
    } catch (err) {
      let error =
        err instanceof ConnectError
          ? err
          : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
      if (!protocol.binary) error = withEnumNameHint(error);
      if (grpc) {
        grpcProtocol.setTrailerStatus(ctx.responseTrailer, error);
        body = new Uint8Array(0);
      } else {
        status = connectProtocol.codeToHttpStatus(error.code);
        ctx.responseHeader.set("content-type", connectProtocol.contentTypeUnaryJson);
        if (!error.isWireError) mergeNonProtocolHeaders(ctx.responseHeader, error.metadata);
        body = connectProtocol.errorToJsonBytes(error, this.options.jsonOptions);
      }
    }
    send(
      reply,
      status,
      grpc ? ctx.responseHeader : connectProtocol.trailerMux(ctx.responseHeader, ctx.responseTrailer),
      body,
      grpc ? ctx.responseTrailer : undefined,
    );
  }

  /** The handler through the interceptors, as connect-node calls it. */
  private async invoke(direct: DirectMethod, ctx: HandlerContext, message: unknown): Promise<Message> {
    const { method } = direct;
    const call = async (req: UnaryRequest): Promise<UnaryResponse> => {
      const out = await direct.impl(req.message as never, ctx);
      return {
        stream: false,
        service: method.parent,
        method,
        header: ctx.responseHeader,
        trailer: ctx.responseTrailer,
        message: isMessage(out, method.output) ? out : create(method.output as DescMessage, out as never),
      };
    };
    type AnyFn = Parameters<Interceptor>[0];
    const next = this.options.interceptors.reduceRight<AnyFn>(
      (inner, interceptor) => interceptor(inner),
      call as AnyFn,
    );
    const res = (await next({
      stream: false,
      service: method.parent,
      method,
      requestMethod: "POST",
      url: ctx.url,
      signal: ctx.signal,
      header: ctx.requestHeader,
      contextValues: ctx.values,
      message: message as never,
    })) as UnaryResponse;
    return res.message;
  }
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
      IDENTITY.has(headers["grpc-encoding"] as string | undefined);
    return served ? { name: "grpc", binary: grpc.binary } : undefined;
  }
  const connect = connectProtocol.parseContentType(contentType ?? null);
  if (!connect || connect.stream) return undefined;
  const version = headers["connect-protocol-version"];
  const served =
    headers["connect-timeout-ms"] === undefined &&
    IDENTITY.has(headers["content-encoding"]) &&
    (version === undefined || version === connectProtocol.protocolVersion);
  return served ? { name: "connect", binary: connect.binary } : undefined;
}

function contentTypeOf(protocol: DirectProtocol): string {
  if (protocol.name === "grpc") return protocol.binary ? grpcProtocol.contentTypeProto : grpcProtocol.contentTypeJson;
  return protocol.binary ? connectProtocol.contentTypeUnaryProto : connectProtocol.contentTypeUnaryJson;
}

/** Node's request headers as WHATWG Headers, without HTTP/2's pseudo-headers. */
function webHeaders(headers: FastifyRequest["headers"]): Headers {
  const web = new Headers();
  for (const name in headers) {
    if (name.startsWith(":")) continue;
    const value = headers[name];
    if (Array.isArray(value)) for (const item of value) web.append(name, item);
    else if (value !== undefined) web.set(name, value);
  }
  return web;
}

/** The one message of a unary gRPC body (uncompressed: compressed calls are connect-node's). */
function onlyMessage(body: Uint8Array): Uint8Array {
  if (body.length === 0)
    throw new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
  if (body.length < 5) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  if (body[0] !== 0)
    throw new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal);
  const length = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(1);
  if (body.length < 5 + length) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  if (body.length > 5 + length)
    throw new ConnectError("protocol error: received extra input message for unary method", Code.Unimplemented);
  return body.subarray(5);
}

/** Writes the answer: Fastify's own reply headers (CORS) first, as connect-fastify does. */
function send(reply: FastifyReply, status: number, header: Headers, body: Uint8Array, trailer?: Headers): void {
  const res = reply.raw;
  if (res.destroyed) return;
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
