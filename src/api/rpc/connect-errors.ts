import { ConnectError } from "@connectrpc/connect";
import { errorAnswer } from "../error-answers.ts";

/** Runs a handler body and turns domain errors into their Connect codes (error-answers.ts). */
export async function mapDomainErrors<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw connectErrorOf(err);
  }
}

/** A domain error as its ConnectError (error-answers.ts); any other error as it is. */
export function connectErrorOf(err: unknown): unknown {
  const answer = errorAnswer(err);
  if (!answer) return err;
  // The delay travels as a Retry-After header (Connect) or trailer (gRPC, gRPC-Web).
  const metadata =
    answer.retryAfterSeconds === undefined
      ? undefined
      : new Headers({ "retry-after": String(answer.retryAfterSeconds) });
  return new ConnectError((err as Error).message, answer.code, metadata, undefined, err);
}
