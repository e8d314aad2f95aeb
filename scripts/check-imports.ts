// Fails on any import cycle under src/ and on any import that points up the layers below.
// Only relative imports are followed: gen/ and packages are outside the layers.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";

const root = join(import.meta.dirname, "..");

// Each layer, the files it holds (first match wins), and the layers it may import besides itself.
// Inbound adapters -> use cases -> store contracts <- store implementations; codec and lib import nothing of ours.
const layers: { name: string; holds: RegExp; mayImport: string[] }[] = [
  { name: "main", holds: /^src\/main\.ts$/, mayImport: ["app", "config", "lib"] },
  { name: "cli", holds: /^src\/cli\//, mayImport: ["app", "config", "core", "store", "codec", "lib"] },
  { name: "app", holds: /^src\/app(\.ts$|\/)/, mayImport: ["config", "api", "core", "store", "sql", "codec", "lib"] },
  { name: "config", holds: /^src\/config\.ts$/, mayImport: ["lib"] },
  { name: "api", holds: /^src\/api\//, mayImport: ["core", "store", "codec", "lib"] },
  { name: "core", holds: /^src\/core\//, mayImport: ["store", "codec", "lib"] },
  { name: "sql", holds: /^src\/store\/sql\//, mayImport: ["store", "codec", "lib"] },
  { name: "store", holds: /^src\/store\//, mayImport: ["codec", "lib"] },
  { name: "codec", holds: /^src\/codec\//, mayImport: ["lib"] },
  { name: "lib", holds: /^src\/lib\//, mayImport: [] },
];

function layerOf(file: string): string | undefined {
  return layers.find((layer) => layer.holds.test(file))?.name;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

// `from "./x.ts"`, `import "./x.ts"` and `import("./x.ts")`, type-only imports included.
const relativeImport = /\b(?:from|import)\s*\(?\s*["'](\.\.?\/[^"']+)["']/g;

const files = sourceFiles("src");
const imports = new Map<string, string[]>();
for (const file of files) {
  const targets = [...readFileSync(join(root, file), "utf8").matchAll(relativeImport)].map((match) =>
    normalize(join(dirname(file), match[1])),
  );
  imports.set(
    file,
    targets.filter((target) => target.startsWith("src/")),
  );
}

const problems: string[] = [];

for (const file of files) {
  const from = layerOf(file);
  if (from === undefined) problems.push(`${file} is in no layer`);
  for (const target of imports.get(file) ?? []) {
    const to = layerOf(target);
    if (from === undefined || to === undefined || from === to) continue;
    const rule = layers.find((layer) => layer.name === from);
    if (!rule?.mayImport.includes(to)) problems.push(`${file} (${from}) imports ${target} (${to})`);
  }
}

// Tarjan's strongly connected components: every component of more than one file is a cycle.
let index = 0;
const order = new Map<string, number>();
const low = new Map<string, number>();
const stack: string[] = [];
const onStack = new Set<string>();
function visit(file: string): void {
  order.set(file, index);
  low.set(file, index);
  index++;
  stack.push(file);
  onStack.add(file);
  for (const target of imports.get(file) ?? []) {
    if (!imports.has(target)) continue;
    if (!order.has(target)) {
      visit(target);
      low.set(file, Math.min(low.get(file) as number, low.get(target) as number));
    } else if (onStack.has(target)) {
      low.set(file, Math.min(low.get(file) as number, order.get(target) as number));
    }
  }
  if (low.get(file) !== order.get(file)) return;
  const component: string[] = [];
  let member: string | undefined;
  do {
    member = stack.pop() as string;
    onStack.delete(member);
    component.push(member);
  } while (member !== file);
  const selfImport = imports.get(file)?.includes(file);
  if (component.length > 1 || selfImport) problems.push(`import cycle: ${component.sort().join(" <-> ")}`);
}
for (const file of files) if (!order.has(file)) visit(file);

// The dashboard (ui/) runs in the browser: it may use gen/ and packages, never the server's code.
const pageFiles = sourceFiles("ui");
for (const file of pageFiles) {
  for (const match of readFileSync(join(root, file), "utf8").matchAll(relativeImport)) {
    const target = normalize(join(dirname(file), match[1]));
    if (target.startsWith("src/")) problems.push(`${file} (the dashboard) imports ${target} (the server)`);
  }
}

for (const problem of problems) console.error(problem);
console.log(`${files.length} files under src/, ${pageFiles.length} under ui/, ${problems.length} import problems`);
if (problems.length > 0) process.exitCode = 1;
