import { timestampDate } from "@bufbuild/protobuf/wkt";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import {
  AdminService,
  type ApiKey,
  type PurgeDone as PurgeDoneMessage,
  type RetentionPolicy as RetentionPolicyMessage,
} from "../../gen/chaukas/backend/v1/admin_pb.ts";
import type { PurgeDone } from "../core/retention/retention.ts";
import { nsToTimestamp } from "../lib/timestamps.ts";
import { isRole } from "../store/key-store.ts";
import type { RetentionPolicy } from "../store/retention-store.ts";
import type { AdminBackend, ListedKey } from "./admin-backend.ts";

/**
 * The CLI's administration through a running server's AdminService, as the admin key `apiKey`.
 * Connect over HTTP/1.1, so it passes any proxy; a file is imported as many unary calls.
 */
export function serverBackend(baseUrl: string, apiKey: string): AdminBackend {
  const bearer: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${apiKey}`);
    return next(req);
  };
  const client = createClient(
    AdminService,
    createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true, interceptors: [bearer] }),
  );
  return {
    async createKey(spec) {
      const { key, secret } = await client.createKey({
        tenantId: spec.tenantId,
        role: spec.role,
        projects: spec.projects,
      });
      if (!key) throw new Error("the server answered CreateKey without the key");
      return { key: listedKey(key), secret };
    },
    async listKeys(tenantId) {
      return (await client.listKeys({ tenantId })).keys.map(listedKey);
    },
    async revokeKey(id) {
      return (await client.revokeKey({ id })).revoked;
    },
    async *exportEvents(filter) {
      const request = {
        tenantId: filter.tenantId,
        projectId: filter.projectId,
        sessionId: filter.sessionId,
        startTime: filter.startNs === undefined ? undefined : nsToTimestamp(filter.startNs),
        endTime: filter.endNs === undefined ? undefined : nsToTimestamp(filter.endNs),
      };
      for await (const page of client.exportEvents(request)) {
        yield { lines: page.lines, totalEvents: page.totalEvents > 0n ? Number(page.totalEvents) : undefined };
      }
    },
    async importEvents(events) {
      return Number((await client.importEvents({ events })).acceptedCount);
    },
    finishImport: async () => {},
    async verifyLog(check, progress) {
      const request = {
        tenantId: check.tenantId,
        verifierKeys: [...(check.verifierKeys ?? [])],
        savedCheckpoint: check.savedNote,
      };
      for await (const { item } of client.verifyLog(request)) {
        if (item.case === "progress") progress(Number(item.value.entriesChecked), Number(item.value.entriesTotal));
        if (item.case === "result") return item.value;
      }
      throw new Error("the server ended VerifyLog without a result");
    },
    async setRetentionPolicy(policy) {
      return (await client.setRetentionPolicy(policy)).policies.map(retentionPolicy);
    },
    async retentionPolicies(tenantId) {
      return (await client.listRetentionPolicies({ tenantId })).policies.map(retentionPolicy);
    },
    async runRetention() {
      const { purges, anotherProcessPurging } = await client.runRetention({});
      return anotherProcessPurging ? undefined : purges.map(purgeDone);
    },
    async eraseEvents(request, progress) {
      const { selector } = request;
      const call = client.eraseEvents({
        tenantId: request.tenantId,
        request: request.request,
        by: request.by,
        sessionId: selector.sessionId,
        agentId: selector.agentId,
        eventIds: selector.eventIds,
        tag: selector.tag,
        metadata: selector.metadata,
      });
      for await (const { item } of call) {
        if (item.case === "progress") {
          progress?.({ examined: Number(item.value.eventsExamined), erased: Number(item.value.eventsErased) });
        }
        if (item.case === "result") {
          return { examined: Number(item.value.eventsExamined), purges: item.value.purges.map(purgeDone) };
        }
      }
      throw new Error("the server ended EraseEvents without a result");
    },
    close: async () => {},
  };
}

function listedKey(key: ApiKey): ListedKey {
  if (!isRole(key.role)) throw new Error(`the server listed key ${key.id} with an unknown role "${key.role}"`);
  return {
    id: key.id,
    tenantId: key.tenantId,
    role: key.role,
    projects: key.projects,
    createdAt: key.createdTime ? timestampDate(key.createdTime) : new Date(0),
    lastUsedAt: key.lastUsedTime && timestampDate(key.lastUsedTime),
    revokedAt: key.revokedTime && timestampDate(key.revokedTime),
  };
}

function retentionPolicy(policy: RetentionPolicyMessage): RetentionPolicy {
  return {
    tenantId: policy.tenantId,
    projectId: policy.projectId,
    days: policy.days,
    setBy: policy.setBy,
    setAt: policy.setTime ? timestampDate(policy.setTime) : new Date(0),
  };
}

function purgeDone(purge: PurgeDoneMessage): PurgeDone {
  return { tenantId: purge.tenantId, projectId: purge.projectId, recordId: purge.recordId, count: Number(purge.count) };
}
