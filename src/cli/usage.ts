import { KEYS_USAGE } from "./keys-command.ts";
import { REDACTION_USAGE } from "./redaction-command.ts";
import { RETENTION_USAGE } from "./retention-command.ts";

/** What `chaukas --help` prints. */
export const USAGE = `usage: chaukas <command> [options]

commands:
  import FILE.jsonl     load events written by the Python SDK's file mode (JSON Lines)
  export --tenant T [--project P] [--session S] [--since TIME] [--until TIME] [--out FILE]
                        write events in the same format, oldest first (stdout by default)
${KEYS_USAGE}
${REDACTION_USAGE}
${RETENTION_USAGE}
  verify --tenant T [--public-key KEY]... [--checkpoint FILE]
                        recompute the tenant's audit log from the database and check every
                        checkpoint and purge; KEY (a C2SP verifier key, or a file holding one;
                        repeat it for a key set) defaults to every key the database recorded;
                        FILE, a checkpoint note saved earlier, must be in the log as it is now
                        (nothing was cut back since)
  verify --export FILE --checkpoint FILE --public-key KEY... [--tenant T]
                        check an export against a signed checkpoint, with no database at all
  migrate               create or upgrade the schema, as the role that owns it: --database-url,
                        else CHAUKAS_MIGRATE_DATABASE_URL, else DATABASE_URL (docs/deployment.md)

database (as for the server): --database-url URL or DATABASE_URL for PostgreSQL; otherwise the
embedded database in --data-dir DIR or CHAUKAS_DATA_DIR (default ./data), through the server
running on it if there is one (as the admin key it saved there). --server URL: that server, as the
admin key in CHAUKAS_API_KEY.`;

const DATABASE_HELP = USAGE.slice(USAGE.indexOf("database (as for the server)"));
/** Commands that open the database itself, never through a server. */
const DIRECT_COMMANDS = new Set(["redaction"]);
const DIRECT_DATABASE_HELP = `database: --database-url URL or DATABASE_URL for PostgreSQL; otherwise the embedded database in
--data-dir DIR or CHAUKAS_DATA_DIR (default ./data), which no running server may hold. A running
server's rules: RedactionService (docs/redaction.md).`;

/** `chaukas COMMAND --help`: the usage lines of one command (every form of it), and how the database is chosen. */
export function commandHelp(command: string): string | undefined {
  const blocks = USAGE.split("\n").reduce<string[][]>((all, line) => {
    if (/^ {2}\S/.test(line)) all.push([line]);
    else if (/^ {3,}\S/.test(line)) all.at(-1)?.push(line);
    return all;
  }, []);
  const forms = blocks.filter((block) => block[0].trim().split(" ")[0] === command);
  if (forms.length === 0) return undefined;
  const database = command === "migrate" ? "" : DIRECT_COMMANDS.has(command) ? DIRECT_DATABASE_HELP : DATABASE_HELP;
  return `usage: chaukas ${command} [options]\n\n${forms.map((b) => b.join("\n")).join("\n")}${database ? `\n\n${database}` : ""}`;
}
