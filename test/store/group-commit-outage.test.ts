import { describe, expect, it } from "vitest";
import { UnavailableError } from "../../src/lib/errors.ts";
import { GroupCommit } from "../../src/store/sql/group-commit.ts";
import { eventRecord } from "../support/records.ts";

describe("group commit while the database is unavailable", () => {
  it("fails every insert of a group with the group's UnavailableError, without writing them again one by one", async () => {
    const outage = new UnavailableError("the database cannot be reached");
    const written: string[][] = [];
    const groups = new GroupCommit(
      async (_scope, records) => {
        written.push(records.map((r) => r.eventId));
        throw outage;
      },
      { writers: 1, maxGroupEvents: 1_000 },
    );
    const scope = { tenantId: "t" };
    // Made in one turn, so the one writer takes them as one group.
    const inserts = ["a", "b", "c"].map((id) => groups.insert(scope, [eventRecord({ tenantId: "t", eventId: id })]));

    expect(await Promise.allSettled(inserts)).toEqual(inserts.map(() => ({ status: "rejected", reason: outage })));
    // One statement for the group: written alone, each would wait out the outage in turn.
    expect(written).toEqual([["a", "b", "c"]]);
  });
});
