import { SemanticConventions as OI } from "@arizeai/openinference-semantic-conventions";
import type { JsonObject } from "@bufbuild/protobuf";
import type { InstrumentationScope } from "../../../gen/opentelemetry/proto/common/v1/common_pb.ts";
import type { Resource } from "../../../gen/opentelemetry/proto/resource/v1/resource_pb.ts";
import type { Principal } from "../access.ts";
import { Attributes } from "./attributes.ts";
import { ATTR_GEN_AI_CONVERSATION_ID, ATTR_SERVICE_NAME } from "./semconv.ts";

/** Resource attributes that name where a sender's events go, when its key does not say. */
export const TENANT_ATTRIBUTE = "chaukas.tenant_id";
export const PROJECT_ATTRIBUTE = "chaukas.project_id";
/** The tenant of events sent without a key (--insecure-no-auth) and without TENANT_ATTRIBUTE. */
export const DEFAULT_TENANT = "default";

/** Where the events of one resource's spans or logs go, and what they share. */
export interface ExportScope {
  tenantId: string;
  projectId: string;
  resource: JsonObject;
  instrumentationScope: JsonObject;
  /** The session of an event: its `session.id`, else `gen_ai.conversation.id`, else its trace's (see below). */
  sessionOf: (traceId: string, attributes: Attributes) => string;
}

/**
 * The tenant comes from the caller's key; the project from a key limited to one project, else the
 * resource's `chaukas.project_id`, else its `service.name`. Ingest then refuses whatever lies
 * outside the key's scope (access.ts): data the sender controls never widens it.
 * `traceSessions` holds the session named by any span of a trace in this export, so the spans of
 * one trace share the session their root (or any span) names.
 */
export function exportScope(
  principal: Principal,
  resource: Resource | undefined,
  scope: InstrumentationScope | undefined,
  traceSessions: ReadonlyMap<string, string>,
): ExportScope {
  const attributes = new Attributes(resource?.attributes ?? []);
  const keyProject = principal.kind === "key" && principal.projects.length === 1 ? principal.projects[0] : undefined;
  const resourceTenant = attributes.string(TENANT_ATTRIBUTE) ?? "";
  return {
    tenantId: principal.kind === "key" ? resourceTenant || principal.tenantId : resourceTenant || DEFAULT_TENANT,
    projectId: keyProject ?? attributes.firstString(PROJECT_ATTRIBUTE, ATTR_SERVICE_NAME) ?? "",
    resource: attributes.all(),
    instrumentationScope: { name: scope?.name ?? "", version: scope?.version ?? "" },
    sessionOf: (traceId, spanAttributes) => namedSession(spanAttributes) ?? traceSessions.get(traceId) ?? traceId,
  };
}

/** The session a span or log record names itself. */
function namedSession(attributes: Attributes): string | undefined {
  return attributes.firstString(OI.SESSION_ID, ATTR_GEN_AI_CONVERSATION_ID);
}
