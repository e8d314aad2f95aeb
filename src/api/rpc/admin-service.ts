import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  type AdminService,
  type ApiKey,
  ApiKeySchema,
  type ExportEventsResponse,
  ExportEventsResponseSchema,
  type VerifyLogResponse,
  VerifyLogResponseSchema,
} from "../../../gen/chaukas/backend/v1/admin_pb.ts";
import type { Administration } from "../../core/administration.ts";
import type { VerificationOutcome } from "../../core/audit/log-verifier.ts";
import { timestampToNs } from "../../lib/timestamps.ts";
import type { StoredKey } from "../../store/key-store.ts";
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
      verifyWithProgress(ctx, req.tenantId, async (progress) =>
        admin.verifyLog(
          principalOf(ctx),
          {
            tenantId: req.tenantId,
            verifierKeys: req.verifierKeys,
            savedNote: req.savedCheckpoint || undefined,
          },
          progress,
        ),
      ),
  };
}

/**
 * Streams a verification's progress while it runs (the latest figures whenever the stream can
 * send), then its result.
 */
async function* verifyWithProgress(
  ctx: HandlerContext,
  tenantId: string,
  verify: (progress: (checked: number, total: number) => void) => Promise<VerificationOutcome>,
): AsyncGenerator<VerifyLogResponse> {
  let latest: { checked: number; total: number } | undefined;
  let wake: (() => void) | undefined;
  let settled = false;
  const outcome = verify((checked, total) => {
    latest = { checked, total };
    wake?.();
  });
  outcome.then(
    () => {
      settled = true;
      wake?.();
    },
    () => {
      settled = true;
      wake?.();
    },
  );
  while (!settled && !ctx.signal.aborted) {
    if (latest) {
      const { checked, total } = latest;
      latest = undefined;
      yield create(VerifyLogResponseSchema, {
        item: { case: "progress", value: { entriesChecked: BigInt(checked), entriesTotal: BigInt(total) } },
      });
    } else {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  }
  let result: VerificationOutcome;
  try {
    result = await outcome;
  } catch (err) {
    throw connectErrorOf(err);
  }
  yield create(VerifyLogResponseSchema, {
    item: {
      case: "result",
      value: {
        tenantId,
        size: result.size,
        rootHash: result.rootHash,
        checkpointsVerified: result.checkpointsVerified,
        findingCount: result.findingCount,
        findings: result.findings.map(({ position, problem }) => ({ position, problem })),
        warnings: [...result.warnings],
        notes: [...result.notes],
        purges: [...result.purges],
      },
    },
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
