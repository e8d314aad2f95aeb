// Builds the dashboard into dist/ui: one hashed JS and CSS bundle (esbuild), a hashed icon, each
// beside its gzip and brotli copies, and index.html naming them. Prints the sizes and fails above
// the budget. `npm run build` runs it; tests use `buildUi`.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { build } from "esbuild";

const here = import.meta.dirname;
export const UI_OUT_DIR = join(here, "..", "dist", "ui");
/** The initial JavaScript the page loads, gzipped, at most. */
export const JS_BUDGET_GZIP_BYTES = 150 * 1024;

export interface AssetSize {
  file: string;
  bytes: number;
  gzip: number;
  brotli: number;
}
export interface UiBuildReport {
  js: AssetSize;
  css: AssetSize;
}

export async function buildUi(outDir = UI_OUT_DIR): Promise<UiBuildReport> {
  const assets = join(outDir, "assets");
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(assets, { recursive: true });
  const result = await build({
    entryPoints: { app: join(here, "src", "main.tsx") },
    bundle: true,
    format: "esm",
    target: "es2022",
    minify: true,
    jsx: "automatic",
    jsxImportSource: "preact",
    outdir: assets,
    entryNames: "[name]-[hash]",
    metafile: true,
    legalComments: "eof",
    logLevel: "warning",
  });
  const [jsPath, output] = Object.entries(result.metafile.outputs).find(([, out]) => out.entryPoint) ?? [];
  if (!jsPath || !output?.cssBundle) throw new Error("esbuild produced no JS and CSS bundle");
  const icon = readFileSync(join(here, "src", "icon.svg"));
  const iconName = `icon-${createHash("sha256").update(icon).digest("hex").slice(0, 8)}.svg`;
  writeFileSync(join(assets, iconName), icon);

  const url = (file: string) => `/assets/${basename(file)}`;
  const html = readFileSync(join(here, "index.html"), "utf8")
    .replace("{{js}}", url(jsPath))
    .replace("{{css}}", url(output.cssBundle))
    .replace("{{icon}}", `/assets/${iconName}`);
  writeFileSync(join(outDir, "index.html"), html);

  const sizes = [jsPath, output.cssBundle, join(assets, iconName)].map((file) => compressBeside(file, outDir));
  const report = { js: sizes[0], css: sizes[1] };
  writeFileSync(join(outDir, "build-report.json"), `${JSON.stringify(report, null, 2)}\n`);
  if (report.js.gzip > JS_BUDGET_GZIP_BYTES) {
    throw new Error(
      `the dashboard's JS is ${report.js.gzip} bytes gzipped, over its budget of ${JS_BUDGET_GZIP_BYTES}`,
    );
  }
  return report;
}

/** Writes `file.gz` and `file.br` beside `file`, as the server sends them to clients that accept them. */
function compressBeside(file: string, outDir: string): AssetSize {
  const bytes = readFileSync(file);
  const gzip = gzipSync(bytes, { level: 9 });
  const brotli = brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
  writeFileSync(`${file}.gz`, gzip);
  writeFileSync(`${file}.br`, brotli);
  return { file: relative(outDir, file), bytes: bytes.length, gzip: gzip.length, brotli: brotli.length };
}

if (import.meta.main) {
  const { js, css } = await buildUi();
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  console.log(
    `dashboard: ${js.file} ${kb(js.bytes)} (gzip ${kb(js.gzip)}, brotli ${kb(js.brotli)}; budget ${kb(JS_BUDGET_GZIP_BYTES)} gzip), ` +
      `${css.file} ${kb(css.bytes)} (gzip ${kb(css.gzip)})`,
  );
}
