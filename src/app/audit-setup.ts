import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Config } from "../config.ts";
import { ConfigError } from "../config.ts";
import { AuditTrail } from "../core/audit/audit-trail.ts";
import { CheckpointSigner, privateKeyFromPem } from "../core/audit/checkpoint.ts";
import type { Database } from "../store/database.ts";

/** Where the database keeps the verifier key of the key that signs its checkpoints. */
export const VERIFIER_KEY_SECRET = "audit-verifier-key";

/**
 * The audit trail of this server: its signing key from the configured file, or a new one in the
 * data directory on first start. The database remembers the first key that signed for it, and a
 * server with another key refuses to start: two keys would make half the checkpoints unverifiable.
 */
export async function setUpAuditTrail(
  store: Database,
  config: Pick<Config, "auditKeyFile" | "auditLogName" | "dataDir">,
  log: { info(obj: object, msg: string): void },
): Promise<AuditTrail> {
  const file = config.auditKeyFile ?? join(config.dataDir, "audit-key.pem");
  const { key, created } = loadOrCreateSigningKey(file);
  const signer = new CheckpointSigner(config.auditLogName, key);
  if (created) log.info({ file }, "created the audit checkpoint signing key");
  const known = Buffer.from(
    await store.sharedSecret(VERIFIER_KEY_SECRET, () => Buffer.from(signer.verifierKey)),
  ).toString();
  if (known !== signer.verifierKey) {
    throw new ConfigError(
      `this database's audit checkpoints are signed by ${known}, but ${file} holds ${signer.verifierKey}: ` +
        "point --audit-key-file (CHAUKAS_AUDIT_KEY_FILE) at the key that signs them",
    );
  }
  log.info({ verifierKey: signer.verifierKey }, "audit checkpoints are signed by this key");
  return new AuditTrail(store, signer, config.auditLogName);
}

/** Reads the Ed25519 signing key, creating it readable only by its owner if the file is absent. */
function loadOrCreateSigningKey(file: string): { key: KeyObject; created: boolean } {
  try {
    return { key: privateKeyFromPem(readFileSync(file, "utf8")), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  mkdirSync(dirname(file), { recursive: true });
  const { privateKey } = generateKeyPairSync("ed25519");
  try {
    writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx" });
  } catch (err) {
    // Another process created it a moment ago: use that one.
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return loadOrCreateSigningKey(file);
    throw err;
  }
  return { key: privateKey, created: true };
}
