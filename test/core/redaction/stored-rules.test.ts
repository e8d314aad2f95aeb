import { afterAll, beforeAll, expect, it } from "vitest";
import { UNRESTRICTED } from "../../../src/core/access.ts";
import { Redactions } from "../../../src/core/redaction/redactions.ts";
import { InvalidArgumentError } from "../../../src/lib/errors.ts";
import type { Database } from "../../../src/store/database.ts";
import { openTestStore } from "../../support/databases.ts";

/**
 * Field paths are checked when rules are set, not when stored ones are read: rules stored under an
 * earlier, looser check keep loading, so the tenant's ingest (which fails closed on unreadable
 * rules) and `redaction show` go on working while an admin replaces them.
 */

let opened: { store: Database; close: () => Promise<void> };
beforeAll(async () => {
  opened = await openTestStore("embedded");
});
afterAll(() => opened?.close());

it("loads stored rules whose path a new set would refuse, and refuses that path in a new set", async () => {
  const old = { detectors: {}, fields: [{ path: "metdata.ssn", method: "drop" }], projects: {} };
  const scope = { tenantId: "older" };
  expect(await opened.store.redaction.addRules(scope, "older", { version: 1, rules: old, changedBy: "test" })).toBe(
    true,
  );

  const redactions = new Redactions(opened.store.redaction);
  expect((await redactions.getRules(UNRESTRICTED, "older")).rules.fields).toEqual(old.fields);
  const redactionOf = await redactions.forTenants(["older"]);
  expect(redactionOf("older", "web").rules.fields.get("metdata.ssn")).toBe("drop");

  await expect(redactions.setRules(UNRESTRICTED, "older", old)).rejects.toThrow(
    new InvalidArgumentError([{ field: "fields[0].path", description: 'has no field "metdata" with text' }]),
  );
});
