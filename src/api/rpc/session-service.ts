import type { ServiceImpl } from "@connectrpc/connect";
import type { SessionService } from "../../../gen/chaukas/backend/v1/sessions_pb.ts";
import type { SessionViews } from "../../core/session-views.ts";
import { principalOf } from "./auth.ts";
import { mapDomainErrors } from "./connect-errors.ts";

/** chaukas.backend.v1.SessionService: thin handlers over the session and usage views. */
export function sessionServiceHandlers(views: SessionViews): ServiceImpl<typeof SessionService> {
  return {
    listSessions: (req, ctx) => mapDomainErrors(() => views.listSessions(principalOf(ctx), req)),
    getUsage: (req, ctx) => mapDomainErrors(() => views.usage(principalOf(ctx), req)),
  };
}
