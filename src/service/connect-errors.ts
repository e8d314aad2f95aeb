import { Code, ConnectError } from "@connectrpc/connect";
import { InvalidArgumentError, UnavailableError } from "../domain/errors.ts";

/** Runs a handler body and turns domain errors into their Connect codes. */
export async function mapDomainErrors<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new ConnectError(err.message, Code.InvalidArgument);
    if (err instanceof UnavailableError)
      throw new ConnectError(err.message, Code.Unavailable, undefined, undefined, err);
    throw err;
  }
}
