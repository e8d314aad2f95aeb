import * as incubating from "@opentelemetry/semantic-conventions/incubating";
import { expect, test } from "vitest";
import * as names from "../../src/core/otlp/semconv.ts";

test("every semantic-convention name the OTLP mapping reads is spelled as @opentelemetry/semantic-conventions spells it", () => {
  const upstream = new Map(Object.entries(incubating));
  const ours = Object.entries(names);
  expect(ours.length).toBeGreaterThan(0);
  for (const [name, value] of ours) expect([name, value]).toEqual([name, upstream.get(name)]);
});
