import { ConnectError } from "@connectrpc/connect";
import { RETRY_INFO_TYPE, retryInfoBinary } from "../../codec/rpc-status.ts";
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
  const error = new ConnectError((err as Error).message, answer.code, metadata, undefined, err);
  // gRPC clients (OTLP exporters among them) read the delay from google.rpc.RetryInfo.
  if (answer.retryAfterSeconds !== undefined) {
    error.details.push({ type: RETRY_INFO_TYPE, value: retryInfoBinary(answer.retryAfterSeconds) });
  }
  return error;
}
