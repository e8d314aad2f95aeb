import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { SETTINGS } from "../src/config.ts";

const readme = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8");

test.each(SETTINGS.map((s) => [s.flag, s]))(
  "the README's configuration table documents --%s as the code does",
  (_, s) => {
    const defaultCell = s.defaultValue ? ` \`${s.defaultValue}\` ` : " ";
    expect(readme).toContain(`| \`--${s.flag}\` | \`${s.env}\` |${defaultCell}| ${s.description} |`);
  },
);
