import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { NPM_START } from "../../kit/server-process.ts";

/**
 * The Docker files, read as text (no Docker engine in the tests): the image runs the Node.js
 * package.json pins, checks readiness as docs/operations.md says, and the build context leaves out
 * what must never reach an image.
 */

const ROOT = join(import.meta.dirname, "..", "..");
const read = (file: string) => readFileSync(join(ROOT, file), "utf8");
const pkg = JSON.parse(read("package.json"));

it("every stage of the Dockerfile runs the Node.js version package.json pins", () => {
  const froms = [...read("Dockerfile").matchAll(/^FROM (\S+)/gm)].map((match) => match[1]);
  expect(froms.length).toBeGreaterThan(0);
  for (const image of froms) expect(image).toBe(`node:${pkg.devDependencies.node}-slim`);
  expect(pkg.engines.node).toMatch(new RegExp(`^>=${pkg.devDependencies.node.split(".")[0]}\\.`));
});

it("the image runs the server with npm start's Node.js flags and glibc settings", () => {
  const dockerfile = read("Dockerfile");
  const cmd = JSON.parse(dockerfile.match(/^CMD (\[.*\])$/m)?.[1] ?? "[]");
  expect(cmd).toEqual(["node", ...NPM_START.nodeFlags, NPM_START.script]);
  // The image's environment: the last stage's ENV instructions, later ones winning.
  const lastStage = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
  const imageEnv = new Map<string, string>();
  for (const [, assignments] of lastStage.matchAll(/^ENV ((?:.*\\\n)*.*)$/gm)) {
    for (const assignment of assignments.split(/[\s\\]+/).filter(Boolean)) {
      const [name, value] = assignment.split("=", 2);
      imageEnv.set(name, value);
    }
  }
  const glibc = (entries: Iterable<[string, string]>) =>
    Object.fromEntries([...entries].filter(([name]) => name.startsWith("MALLOC_")));
  const startEnv = glibc(Object.entries(NPM_START.env));
  expect(Object.keys(startEnv).length).toBeGreaterThan(0);
  expect(glibc(imageEnv)).toEqual(startEnv);
});

it("the image and the compose file's server check GET /readyz on the server's port", () => {
  const probe = "fetch('http://127.0.0.1:'+(process.env.CHAUKAS_PORT||50051)+'/readyz')";
  const dockerfile = read("Dockerfile");
  expect(dockerfile).toMatch(/^HEALTHCHECK .*\\\n\s+CMD \["node", "-e", ".*"\]$/m);
  expect(dockerfile).toContain(probe);
  const server = read("docker-compose.yml").split(/^ {2}chaukas:$/m)[1];
  expect(server).toMatch(/^ {4}healthcheck:\n {6}test: \["CMD", "node", "-e", ".*"\]$/m);
  expect(server).toContain(probe);
});

it(".dockerignore keeps data, key files, node_modules and dist out of the build context", () => {
  const ignored = read(".dockerignore")
    .split("\n")
    .filter((line) => line && !line.startsWith("#"));
  for (const entry of ["data", "**/data", "**/node_modules", "dist", "admin-key*", "*.pem", ".git"]) {
    expect(ignored).toContain(entry);
  }
  // What the Dockerfile copies is not ignored.
  const copied = [...read("Dockerfile").matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(" "));
  for (const path of copied) expect(ignored, path).not.toContain(path);
});

it("the build stage copies every path the build script and tsconfig.build.json name", () => {
  const stage = read("Dockerfile").split(/^FROM /m)[1];
  const copied = new Set([...stage.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(" ")));
  // Paths in the build script (tsconfig.build.json, scripts/..., ui/build.ts, src/...), and what tsc compiles.
  const named = [...pkg.scripts.build.matchAll(/(?:^|\s)((?:[\w.-]+\/)*[\w.-]+\.(?:ts|json)|src\/[\w/.-]+)/g)].map(
    (m) => m[1],
  );
  const compiled = JSON.parse(read("tsconfig.build.json")).include as string[];
  expect(named).toEqual(expect.arrayContaining(["tsconfig.build.json", "scripts/pglite-template.ts", "ui/build.ts"]));
  for (const path of [...named, ...compiled]) {
    const top = path.split("/")[0];
    expect(copied.has(path) || copied.has(top), path).toBe(true);
  }
});
