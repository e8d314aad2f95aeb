import { randomBytes } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { GzipStreams } from "../../src/lib/gzip-streams.ts";

/** Inputs of many sizes: empty, small, one zlib output chunk (16 KiB) and many, compressible or not. */
const INPUTS = [
  Buffer.alloc(0),
  Buffer.from("a"),
  Buffer.from("event ".repeat(50_000)),
  randomBytes(40_000),
  Buffer.concat([randomBytes(3_000), Buffer.from("x".repeat(200_000))]),
  ...Array.from({ length: 40 }, (_, i) =>
    Buffer.concat([randomBytes(i * 37), Buffer.from(`{"n":${i}}`.repeat(i * 40))]),
  ),
];

describe("gzip on kept streams", () => {
  it("gives one gzip member of each input, call after call on the same streams", async () => {
    const gzip = new GzipStreams({ level: 1 }, 2);
    for (let round = 0; round < 3; round++) {
      for (const input of INPUTS) expect(gunzipSync(await gzip.compress(input))).toEqual(input);
    }
  });

  it("gives each of many calls at once its own output, more calls than streams kept", async () => {
    const gzip = new GzipStreams({ level: 1 }, 2);
    for (let round = 0; round < 2; round++) {
      const outputs = await Promise.all(INPUTS.map((input) => gzip.compress(input)));
      outputs.forEach((output, i) => {
        expect(gunzipSync(output)).toEqual(INPUTS[i]);
      });
    }
  });

  it("compresses at the level asked", async () => {
    const input = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `event ${i % 977} `).join(""));
    const fast = await new GzipStreams({ level: 1 }, 1).compress(input);
    const best = await new GzipStreams({ level: 9 }, 1).compress(input);
    expect(best.length).toBeLessThan(fast.length);
    expect(gunzipSync(best)).toEqual(input);
  });
});
