import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";
import { expect, it } from "vitest";
import { varintBytes, writeVarint } from "../../src/codec/varint.ts";

const EDGES = [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 2 ** 28 - 1, 2 ** 28, 2 ** 32 - 1];

it.each(EDGES)("%i: sized and written as protobuf-es writes a uint32", (n) => {
  const expected = new BinaryWriter().uint32(n).finish();
  expect(varintBytes(n)).toBe(expected.length);
  const into = new Uint8Array(expected.length + 2).fill(0xee);
  expect(writeVarint(into, 1, n)).toBe(expected.length + 1);
  expect(into.subarray(1, -1)).toEqual(expected);
  expect([into[0], into.at(-1)]).toEqual([0xee, 0xee]);
  expect(new BinaryReader(into.subarray(1)).uint32()).toBe(n);
});
