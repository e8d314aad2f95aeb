import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  GetRulesResponseSchema,
  type RedactionService,
  SetRulesResponseSchema,
} from "../../../gen/chaukas/backend/v1/redaction_pb.ts";
import type { Redactions } from "../../core/redaction/redactions.ts";
import { principalOf } from "./auth.ts";
import { mapDomainErrors } from "./connect-errors.ts";

/** chaukas.backend.v1.RedactionService: thin handlers over Redactions (admin keys only, checked there). */
export function redactionServiceHandlers(redactions: Redactions): ServiceImpl<typeof RedactionService> {
  return {
    getRules: (req, ctx) =>
      mapDomainErrors(async () => {
        const current = await redactions.getRules(principalOf(ctx), req.tenantId);
        return create(GetRulesResponseSchema, {
          ...current,
          changedAt: current.changedAt && timestampFromDate(current.changedAt),
        });
      }),

    setRules: (req, ctx) =>
      mapDomainErrors(async () => {
        const version = await redactions.setRules(principalOf(ctx), req.tenantId, req.rules ?? {}, req.expectedVersion);
        return create(SetRulesResponseSchema, { version });
      }),
  };
}
