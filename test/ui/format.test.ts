import { describe, expect, it } from "vitest";
import { duration } from "../../ui/src/format.ts";
import { words } from "../../ui/src/names.ts";

/** How the page writes durations and enum names (ui/src/format.ts, ui/src/names.ts). */

describe("duration", () => {
  it("writes each unit at its precision", () => {
    expect(duration(0)).toBe("0 µs");
    expect(duration(0.84)).toBe("840 µs");
    expect(duration(3.45)).toBe("3.5 ms");
    expect(duration(12.4)).toBe("12 ms");
    expect(duration(3_400)).toBe("3.40 s");
    expect(duration(12_340)).toBe("12.3 s");
    expect(duration(125_000)).toBe("2 min 5 s");
    expect(duration(3_780_000)).toBe("1 h 3 min");
    expect(duration(-1)).toBe("–");
    expect(duration(Number.NaN)).toBe("–");
  });

  it("chooses the unit after rounding, so a figure never reads as the next unit's worth", () => {
    expect(duration(0.9996)).toBe("1.0 ms");
    expect(duration(9.96)).toBe("10 ms");
    expect(duration(999.5)).toBe("1.00 s");
    expect(duration(999.99)).toBe("1.00 s");
    expect(duration(9_996)).toBe("10.0 s");
    expect(duration(59_960)).toBe("1 min 0 s");
    expect(duration(3_599_600)).toBe("1 h 0 min");
  });
});

describe("words", () => {
  it("turns every underscore of an enum name into a space", () => {
    expect(words("TOOL_CALL_START")).toBe("tool call start");
    expect(words("MODEL_INVOCATION_END")).toBe("model invocation end");
    expect(words("ERROR")).toBe("error");
  });
});
