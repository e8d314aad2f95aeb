import { randomBytes } from "node:crypto";
import zlib, { gunzipSync, inflateRawSync } from "node:zlib";
import { describe, expect, it, vi } from "vitest";
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

/** The input of exactly one gzip member that fills `output`: a 10-byte header, deflate, an 8-byte trailer. */
function oneMember(output: Buffer): Buffer {
  const { buffer, engine } = inflateRawSync(output.subarray(10), { info: true }) as unknown as {
    buffer: Buffer;
    engine: zlib.InflateRaw;
  };
  expect(10 + engine.bytesWritten + 8).toBe(output.length);
  expect(gunzipSync(output)).toEqual(buffer);
  return buffer;
}

describe("gzip on kept streams", () => {
  it("gives one gzip member of each input, call after call on the same streams", async () => {
    const gzip = new GzipStreams({ level: 1 }, 2);
    for (let round = 0; round < 3; round++) {
      for (const input of INPUTS) expect(oneMember(await gzip.compress(input))).toEqual(input);
    }
  });

  it("gives each of many calls at once its own output, more calls than streams kept", async () => {
    const gzip = new GzipStreams({ level: 1 }, 2);
    for (let round = 0; round < 2; round++) {
      const outputs = await Promise.all(INPUTS.map((input) => gzip.compress(input)));
      outputs.forEach((output, i) => {
        expect(oneMember(output)).toEqual(INPUTS[i]);
      });
    }
  });

  it("makes no stream for a call while one is kept, and keeps at most as many as asked", async () => {
    const made = vi.spyOn(zlib, "createGzip");
    try {
      const gzip = new GzipStreams({ level: 1 }, 2);
      await Promise.all(INPUTS.slice(0, 5).map((input) => gzip.compress(input)));
      expect(made).toHaveBeenCalledTimes(5);
      for (const input of INPUTS) await gzip.compress(input);
      await Promise.all(INPUTS.slice(0, 2).map((input) => gzip.compress(input)));
      expect(made).toHaveBeenCalledTimes(5);
      await Promise.all(INPUTS.slice(0, 3).map((input) => gzip.compress(input)));
      expect(made).toHaveBeenCalledTimes(6);
    } finally {
      made.mockRestore();
    }
  });

  it("refuses what is not bytes, and compresses the next call as before", async () => {
    const gzip = new GzipStreams({ level: 1 }, 1);
    await gzip.compress(INPUTS[2]);
    await expect(gzip.compress(42 as unknown as Uint8Array)).rejects.toThrow();
    expect(oneMember(await gzip.compress(INPUTS[3]))).toEqual(INPUTS[3]);
  });

  it("compresses at the level asked", async () => {
    const input = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `event ${i % 977} `).join(""));
    const fast = await new GzipStreams({ level: 1 }, 1).compress(input);
    const best = await new GzipStreams({ level: 9 }, 1).compress(input);
    expect(best.length).toBeLessThan(fast.length);
    expect(oneMember(best)).toEqual(input);
  });
});
