#!/usr/bin/env node
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fromJson } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import { rotateSigningKey } from "../app/audit-setup.ts";
import { packageVersion } from "../app/package-version.ts";
import { announcedServer } from "../app/server-announcement.ts";
import { adminKeyFile, isStartupProblem, migrateSchema, openCliStore } from "../app.ts";
import { ConfigError, resolveSetting } from "../config.ts";
import { CheckpointError } from "../core/audit/checkpoint.ts";
import { FailedPreconditionError, InvalidArgumentError } from "../lib/errors.ts";
import { timestampToNs } from "../lib/timestamps.ts";
import type { Database } from "../store/database.ts";
import type { AdminBackend } from "./admin-backend.ts";
import { CliError, UsageError } from "./cli-errors.ts";
import { counted } from "./counted.ts";
import { directBackend } from "./direct-backend.ts";
import { exportJsonl } from "./export-command.ts";
import { importJsonl } from "./import-command.ts";
import { keysCommand } from "./keys-command.ts";
import { checkReadable, openForWriting } from "./named-files.ts";
import { Progress } from "./progress.ts";
import { redactionCommand } from "./redaction-command.ts";
import { eraseCommand, retentionCommand } from "./retention-command.ts";
import { serverBackend } from "./server-backend.ts";
import { commandHelp, USAGE } from "./usage.ts";
import { printVerification, readCheckpointFile, tenantOfCheckpoint, verifyExport } from "./verify-command.ts";

const STORE_FLAGS = {
  "database-url": { type: "string" },
  "data-dir": { type: "string" },
  server: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** The commands run on an administration (a server's or the database's), each checking its flags first. */
const ADMIN_COMMANDS = { keys: keysCommand, retention: retentionCommand, erase: eraseCommand };

const wantsHelp = (args: string[]) => args.some((arg) => arg === "--help" || arg === "-h");

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "help" && rest.length > 0) return help(rest[0]);
  if (command !== undefined && wantsHelp(rest)) return help(command);
  if (command === "--version") {
    console.log(packageVersion());
    return 0;
  }
  if (command === "import") {
    const { values, positionals } = parseArgs({ args: rest, options: STORE_FLAGS, allowPositionals: true });
    if (positionals.length !== 1) throw new UsageError("import takes exactly one file");
    checkReadable(positionals[0]);
    return withAdmin(values, async (admin) => {
      const summary = await importJsonl(positionals[0], admin, (line) => console.error(line));
      // Ingest does not tell a new event from one already stored, so both count as accepted.
      console.error(
        `imported ${positionals[0]}: ${counted(summary.lines, "line")}, ${counted(summary.accepted, "event")} ` +
          `accepted (already stored ones are kept once), ${counted(summary.badLines, "bad line")}, ` +
          `${summary.seconds.toFixed(1)} s`,
      );
      return summary.badLines > 0 ? 1 : 0;
    });
  }
  if (command === "export") {
    const { values } = parseArgs({
      args: rest,
      options: {
        ...STORE_FLAGS,
        tenant: { type: "string" },
        project: { type: "string" },
        session: { type: "string" },
        since: { type: "string" },
        until: { type: "string" },
        out: { type: "string", short: "o" },
      },
    });
    if (!values.tenant) throw new UsageError("export needs --tenant");
    const filter = {
      tenantId: values.tenant,
      projectId: values.project,
      sessionId: values.session,
      startNs: values.since === undefined ? undefined : parseTime(values.since, "--since"),
      endNs: values.until === undefined ? undefined : parseTime(values.until, "--until"),
    };
    return withAdmin({ ...values, readOnly: true }, async (admin) => {
      const out = values.out ? openForWriting(values.out) : process.stdout;
      let written: number;
      try {
        written = await exportJsonl(admin, filter, out);
      } catch (err) {
        // The reader of stdout went away (`chaukas export | head`): it wants no more, so stop
        // quietly and successfully, as cat piped into head does for the pipeline.
        if (out === process.stdout && (err as NodeJS.ErrnoException).code === "EPIPE") return 0;
        throw err;
      }
      console.error(`exported ${counted(written, "event")}${values.out ? ` to ${values.out}` : ""}`);
      return 0;
    });
  }
  if (command === "keys" && withoutStoreFlags(rest)[0] === "rotate-signing") {
    const { values } = parseArgs({
      args: rest.slice(1),
      options: { ...STORE_FLAGS, "audit-key-file": { type: "string" }, "audit-log-name": { type: "string" } },
    });
    const config = {
      auditKeyFile: resolveSetting("auditKeyFile", values["audit-key-file"], process.env),
      auditLogName: resolveSetting("auditLogName", values["audit-log-name"], process.env),
      dataDir: resolveSetting("dataDir", values["data-dir"], process.env),
    };
    // A server signs with the key it loaded at start: a rotation under it would leave it signing
    // with the old key, which the database no longer names.
    const stopFirst =
      "signs checkpoints with the key it loaded at start: stop every server, rotate, then start them again";
    if (values.server !== undefined) throw new FailedPreconditionError(`the server at ${values.server} ${stopFirst}`);
    const running = resolveSetting("databaseUrl", values["database-url"], process.env)
      ? undefined
      : announcedServer(config.dataDir);
    if (running) throw new FailedPreconditionError(`the server at ${running.url} ${stopFirst}`);
    return withDatabase(values, async (store) => {
      if (!(await store.holdsBackgroundLease())) {
        throw new FailedPreconditionError(
          `a server runs on this database (it holds its background lease) and ${stopFirst}`,
        );
      }
      console.log(await rotateSigningKey(store, config));
      console.error("the key above signs from the next checkpoint: restart every server with the new key file");
      return 0;
    });
  }
  if (command === "keys" || command === "redaction" || command === "retention" || command === "erase") {
    const { values } = parseArgs({ args: rest, options: STORE_FLAGS, strict: false });
    const flags = values as { "database-url"?: string; "data-dir"?: string; server?: string };
    if (command === "redaction" && flags.server !== undefined) {
      throw new UsageError("redaction opens the database itself and takes no --server (a server's: RedactionService)");
    }
    const args = withoutStoreFlags(rest);
    const out = (line: string) => console.log(line);
    const err = (line: string) => console.error(line);
    // Each command checks its flags before withAdmin or withDatabase runs: a usage error opens
    // (or creates) no store. Redaction rules are set on the database itself.
    if (command === "redaction") {
      const redaction = redactionCommand(args);
      return withDatabase({ ...flags, readOnly: redaction.readOnly }, (store) =>
        redaction.run(store.redaction, out, err),
      );
    }
    const checked = ADMIN_COMMANDS[command](args);
    return withAdmin({ ...flags, readOnly: checked.readOnly }, (admin) => checked.run(admin, out, err));
  }
  if (command === "verify") {
    const { values } = parseArgs({
      args: rest,
      options: {
        ...STORE_FLAGS,
        tenant: { type: "string" },
        "public-key": { type: "string", multiple: true },
        export: { type: "string" },
        checkpoint: { type: "string" },
      },
    });
    const print = (line: string) => console.log(line);
    if (values.export !== undefined) {
      if (!values.checkpoint || !values["public-key"]) {
        throw new UsageError("verify --export needs --checkpoint and --public-key");
      }
      checkReadable(values.export);
      const note = readCheckpointFile(values.checkpoint);
      const tenant = values.tenant ?? tenantOfCheckpoint(note);
      const keys = values["public-key"].map(verifierKeyArgument);
      return printVerification((await verifyExport(values.export, note, keys, tenant)).outcome(), print);
    }
    const saved = values.checkpoint === undefined ? undefined : readCheckpointFile(values.checkpoint);
    const tenant = values.tenant ?? (saved && tenantOfCheckpoint(saved));
    if (!tenant) throw new UsageError("verify needs --tenant or --checkpoint (or --export for an offline check)");
    return withAdmin({ ...values, readOnly: true }, async (admin) => {
      // By default, every key the database recorded: each checkpoint verifies with the one that signed it.
      const verifierKeys = values["public-key"]?.map(verifierKeyArgument);
      const progress = new Progress(`verifying tenant ${tenant}`);
      const outcome = await admin.verifyLog({ tenantId: tenant, verifierKeys, savedNote: saved }, (checked, total) =>
        progress.update(checked, total > 0 ? checked / total : undefined),
      );
      progress.done();
      return printVerification(outcome, print);
    });
  }
  if (command === "migrate") {
    const { values } = parseArgs({ args: rest, options: STORE_FLAGS });
    const ownerUrl =
      values["database-url"] ||
      resolveSetting("migrateDatabaseUrl", undefined, process.env) ||
      resolveSetting("databaseUrl", undefined, process.env);
    const dataDir = resolveSetting("dataDir", values["data-dir"], process.env);
    await migrateSchema(ownerUrl, dataDir, { info: (line: string) => console.error(line) });
    console.error("the schema is up to date");
    return 0;
  }
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    console.log(USAGE);
    return 0;
  }
  throw new UsageError(`unknown command "${command}"`);
}

/**
 * Runs `body` with the administration the flags name: a server's AdminService with `--server URL`
 * (as the key in CHAUKAS_API_KEY), the server running on the embedded database in the data
 * directory (as its first admin key, from the file it keeps there), else the database itself.
 */
async function withAdmin(
  flags: { "database-url"?: string; "data-dir"?: string; server?: string; readOnly?: boolean },
  body: (admin: AdminBackend) => Promise<number>,
): Promise<number> {
  if (flags.server !== undefined) {
    const apiKey = process.env.CHAUKAS_API_KEY;
    if (!apiKey) throw new ConfigError("--server needs an admin key in CHAUKAS_API_KEY");
    return body(serverBackend(flags.server, apiKey));
  }
  const databaseUrl = resolveSetting("databaseUrl", flags["database-url"], process.env);
  const dataDir = resolveSetting("dataDir", flags["data-dir"], process.env);
  const running = databaseUrl ? undefined : announcedServer(dataDir);
  if (running) return body(serverBackend(running.url, announcedServerKey(dataDir, running.url)));
  return withDatabase(flags, (store) => body(directBackend(store)));
}

/**
 * Runs `body` on the database the flags name (DATABASE_URL or the embedded data directory). A
 * command that only reads (`readOnly`) refuses an embedded data directory that holds no database,
 * rather than creating an empty one to read.
 */
async function withDatabase(
  flags: { "database-url"?: string; "data-dir"?: string; readOnly?: boolean },
  body: (store: Database) => Promise<number>,
): Promise<number> {
  const databaseUrl = resolveSetting("databaseUrl", flags["database-url"], process.env);
  // DATABASE_READ_URL names a replica of DATABASE_URL, not of a database given by flag.
  const databaseReadUrl = flags["database-url"] ? undefined : resolveSetting("databaseReadUrl", undefined, process.env);
  const dataDir = resolveSetting("dataDir", flags["data-dir"], process.env);
  if (flags.readOnly && !databaseUrl && !existsSync(join(dataDir, "PG_VERSION"))) {
    throw new ConfigError(
      `${dataDir} holds no database: name the data directory of a server with --data-dir (CHAUKAS_DATA_DIR), or a PostgreSQL database with --database-url (DATABASE_URL)`,
    );
  }
  const store = await openCliStore(
    { databaseUrl, databaseReadUrl, dataDir },
    {
      info: () => {},
      error: (obj: unknown, msg: string) => console.error(msg, obj),
    },
  );
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}

/** The first admin key the server on the embedded database saved beside it. */
function announcedServerKey(dataDir: string, url: string): string {
  const file = adminKeyFile({ dataDir });
  if (!existsSync(file)) {
    throw new ConfigError(
      `the server at ${url} holds ${dataDir}, and ${file} is gone: pass --server ${url} with an admin key in CHAUKAS_API_KEY`,
    );
  }
  return readFileSync(file, "utf8").trim();
}

/** A C2SP verifier key given inline, or the path of a file that holds one. */
function verifierKeyArgument(value: string): string {
  if (!existsSync(value)) return value;
  checkReadable(value);
  return readFileSync(value, "utf8").trim();
}

const STORE_FLAG_NAMES = ["--database-url", "--data-dir", "--server"];

/** The arguments without --database-url/--data-dir/--server (and their values), for subcommand parsers. */
function withoutStoreFlags(args: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (STORE_FLAG_NAMES.includes(arg)) i++;
    else if (!STORE_FLAG_NAMES.some((flag) => arg.startsWith(`${flag}=`))) kept.push(arg);
  }
  return kept;
}

/** RFC 3339, or a naive ISO-8601 time meaning UTC (as the SDK writes), to nanoseconds. */
function parseTime(text: string, flag: string): bigint {
  // Lenient about the forms Date.parse took: a date alone, no seconds, a space for T, +hhmm.
  const iso = text
    .trim()
    .toUpperCase()
    .replace(/^(\d{4}-\d\d-\d\d)$/, "$1T00:00:00")
    .replace(/^(\d{4}-\d\d-\d\d) /, "$1T")
    .replace(/T(\d\d:\d\d)(?=$|Z|[+-])/, "T$1:00")
    .replace(/([+-]\d\d)(\d\d)$/, "$1:$2");
  const zoned = /(Z|[+-]\d\d:\d\d)$/.test(iso) ? iso : `${iso}Z`;
  // Parsed as a Timestamp so every digit counts: Date.parse keeps milliseconds, and the SDK writes
  // microseconds.
  try {
    return timestampToNs(fromJson(TimestampSchema, zoned));
  } catch {
    throw new ConfigError(`${flag} must be an ISO-8601 time, got "${text}"`);
  }
}

/** `chaukas COMMAND --help`: that command's usage, on stdout. */
function help(command: string): number {
  const text = commandHelp(command);
  if (text === undefined) throw new UsageError(`unknown command "${command}"`);
  console.log(text);
  return 0;
}

/** A usage error: one line, then the usage of the command typed (all of them when it is unknown). */
function usageError(problem: string, command: string | undefined): number {
  console.error(`chaukas: ${problem}\n`);
  console.error((command && commandHelp(command)) ?? USAGE);
  return 2;
}

const argv = process.argv.slice(2);
run(argv).then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof UsageError) process.exit(usageError(err.message, argv[0]));
    // An unknown option or a missing option value is a usage error too. Node's message can add a
    // sentence on positionals; its first says what is wrong.
    if (String(err?.code).startsWith("ERR_PARSE_ARGS_")) process.exit(usageError(err.message.split(". ")[0], argv[0]));
    // A server's refusal reads as the same refusal of the local store would.
    if (err instanceof ConnectError) {
      console.error(`chaukas: ${err.rawMessage}`);
      process.exit(1);
    }
    const known =
      isStartupProblem(err) ||
      err instanceof CliError ||
      err instanceof FailedPreconditionError ||
      err instanceof InvalidArgumentError ||
      err instanceof CheckpointError ||
      err instanceof TypeError ||
      // Any other file problem (named-files.ts words the usual ones): its message says it all.
      typeof err?.syscall === "string";
    console.error(`chaukas: ${known ? err.message : (err?.stack ?? err)}`);
    process.exit(1);
  },
);
