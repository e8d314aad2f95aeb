import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  type AdminService,
  type ApiKey,
  ApiKeySchema,
  EraseEventsResponseSchema,
  type ExportEventsResponse,
  ExportEventsResponseSchema,
  type PurgeDone as PurgeDoneMessage,
  PurgeDoneSchema,
  type RetentionPolicy as RetentionPolicyMessage,
  RetentionPolicySchema,
  VerifyLogResponseSchema,
} from "../../../gen/chaukas/backend/v1/admin_pb.ts";
import type { Principal } from "../../core/access.ts";
import type { Administration } from "../../core/administration.ts";
import type { VerificationOutcome } from "../../core/audit/log-verifier.ts";
import type { PurgeDone } from "../../core/retention/retention.ts";
import { timestampToNs } from "../../lib/timestamps.ts";
import type { StoredKey } from "../../store/key-store.ts";
import type { RetentionPolicy } from "../../store/retention-store.ts";
import { principalOf } from "./auth.ts";
import { connectErrorOf, mapDomainErrors } from "./connect-errors.ts";

/** chaukas.backend.v1.AdminService: thin handlers over Administration, as the caller's admin key allows. */
export function adminServiceHandlers(admin: Administration): ServiceImpl<typeof AdminService> {
  return {
    createKey: (req, ctx) =>
      mapDomainErrors(async () => {
        const spec = { tenantId: req.tenantId, role: req.role, projects: req.projects };
        const { key, secret } = await admin.createKey(principalOf(ctx), spec);
        return { key: apiKey(key), secret };
      }),

    listKeys: (req, ctx) =>
      mapDomainErrors(async () => {
        const keys = await admin.listKeys(principalOf(ctx), req.tenantId || undefined);
        return { keys: keys.map(apiKey) };
      }),

    revokeKey: (req, ctx) =>
      mapDomainErrors(async () => ({ revoked: await admin.revokeKey(principalOf(ctx), req.id) })),

    async *exportEvents(req, ctx): AsyncGenerator<ExportEventsResponse> {
      const filter = {
        tenantId: req.tenantId,
        projectId: req.projectId || undefined,
        sessionId: req.sessionId || undefined,
        startNs: req.startTime && timestampToNs(req.startTime),
        endNs: req.endTime && timestampToNs(req.endTime),
      };
      try {
        for await (const page of admin.exportEvents(principalOf(ctx), filter)) {
          if (ctx.signal.aborted) return;
          yield create(ExportEventsResponseSchema, { lines: page.lines, totalEvents: BigInt(page.totalEvents ?? 0) });
        }
      } catch (err) {
        throw connectErrorOf(err);
      }
    },

    importEvents: (req, ctx) =>
      mapDomainErrors(async () => ({
        acceptedCount: BigInt(await admin.importEvents(principalOf(ctx), req.events)),
      })),

    verifyLog: (req, ctx) =>
      streamWithProgress(
        ctx,
        (progress: (checked: number, total: number) => void) =>
          admin.verifyLog(
            principalOf(ctx),
            { tenantId: req.tenantId, verifierKeys: req.verifierKeys, savedNote: req.savedCheckpoint || undefined },
            progress,
          ),
        (checked, total) =>
          create(VerifyLogResponseSchema, {
            item: { case: "progress", value: { entriesChecked: BigInt(checked), entriesTotal: BigInt(total) } },
          }),
        (result) =>
          create(VerifyLogResponseSchema, { item: { case: "result", value: verifyResult(req.tenantId, result) } }),
      ),

    setRetentionPolicy: (req, ctx) =>
      mapDomainErrors(async () => {
        const principal = principalOf(ctx);
        const policies = await admin.setRetentionPolicy(principal, {
          tenantId: req.tenantId,
          projectId: req.projectId,
          days: req.days,
          setBy: req.setBy || callerName(principal),
        });
        return { policies: policies.map(retentionPolicy) };
      }),

    listRetentionPolicies: (req, ctx) =>
      mapDomainErrors(async () => ({
        policies: (await admin.retentionPolicies(principalOf(ctx), req.tenantId)).map(retentionPolicy),
      })),

    runRetention: (_req, ctx) =>
      mapDomainErrors(async () => {
        const purges = await admin.runRetention(principalOf(ctx));
        return { purges: (purges ?? []).map(purgeDone), anotherProcessPurging: purges === undefined };
      }),

    eraseEvents: (req, ctx) => {
      const principal = principalOf(ctx);
      const request = {
        tenantId: req.tenantId,
        request: req.request,
        by: req.by || callerName(principal),
        selector: {
          sessionId: req.sessionId || undefined,
          agentId: req.agentId || undefined,
          eventIds: req.eventIds.length > 0 ? req.eventIds : undefined,
          tag: req.tag || undefined,
          metadata: req.metadata && { key: req.metadata.key, value: req.metadata.value },
        },
      };
      return streamWithProgress(
        ctx,
        (progress: (examined: number, erased: number) => void) =>
          admin.eraseEvents(principal, request, ({ examined, erased }) => progress(examined, erased)),
        (examined, erased) =>
          create(EraseEventsResponseSchema, {
            item: { case: "progress", value: { eventsExamined: BigInt(examined), eventsErased: BigInt(erased) } },
          }),
        (erasure) =>
          create(EraseEventsResponseSchema, {
            item: {
              case: "result",
              value: {
                eventsExamined: BigInt(erasure.examined),
                eventsErased: BigInt(erasure.purges.reduce((sum, purge) => sum + purge.count, 0)),
                purges: erasure.purges.map(purgeDone),
              },
            },
          }),
      );
    },
  };
}

/**
 * Streams the progress a long use case reports, each report as one message sent in order while it
 * runs, then its result's message.
 */
async function* streamWithProgress<Result, Message>(
  ctx: HandlerContext,
  run: (progress: (done: number, of: number) => void) => Promise<Result>,
  progressMessage: (done: number, of: number) => Message,
  resultMessage: (result: Result) => Message,
): AsyncGenerator<Message> {
  const pending: Message[] = [];
  let wake: (() => void) | undefined;
  let settled = false;
  const outcome = run((done, of) => {
    pending.push(progressMessage(done, of));
    wake?.();
  });
  const settle = () => {
    settled = true;
    wake?.();
  };
  outcome.then(settle, settle);
  while (!ctx.signal.aborted) {
    const next = pending.shift();
    if (next) yield next;
    else if (settled) break;
    else {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  }
  let result: Result;
  try {
    result = await outcome;
  } catch (err) {
    throw connectErrorOf(err);
  }
  yield resultMessage(result);
}

function verifyResult(tenantId: string, result: VerificationOutcome) {
  return {
    tenantId,
    size: result.size,
    rootHash: result.rootHash,
    checkpointsVerified: result.checkpointsVerified,
    findingCount: result.findingCount,
    findings: result.findings.map(({ position, problem }) => ({ position, problem })),
    warnings: [...result.warnings],
    notes: [...result.notes],
    purges: [...result.purges],
  };
}

/** Who a policy or purge record names when the request names no one: the caller's key. */
function callerName(principal: Principal): string {
  return principal.kind === "key" ? `key ${principal.keyId}` : "unauthenticated caller";
}

function retentionPolicy(policy: RetentionPolicy): RetentionPolicyMessage {
  return create(RetentionPolicySchema, {
    tenantId: policy.tenantId,
    projectId: policy.projectId,
    days: policy.days,
    setBy: policy.setBy,
    setTime: timestampFromDate(policy.setAt),
  });
}

function purgeDone(purge: PurgeDone): PurgeDoneMessage {
  return create(PurgeDoneSchema, {
    tenantId: purge.tenantId,
    projectId: purge.projectId,
    recordId: purge.recordId,
    count: BigInt(purge.count),
  });
}

function apiKey(key: StoredKey): ApiKey {
  return create(ApiKeySchema, {
    id: key.id,
    tenantId: key.tenantId,
    role: key.role,
    projects: key.projects,
    createdTime: timestampFromDate(key.createdAt),
    lastUsedTime: key.lastUsedAt && timestampFromDate(key.lastUsedAt),
    revokedTime: key.revokedAt && timestampFromDate(key.revokedAt),
  });
}
