import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Config } from "../config.ts";
import { ConfigError } from "../config.ts";
import { AuditTrail } from "../core/audit/audit-trail.ts";
import { CheckpointSigner, privateKeyFromPem } from "../core/audit/checkpoint.ts";
import type { Database } from "../store/database.ts";

/**
 * The audit trail of this server: its signing key from the configured file, or a new one in the
 * data directory on first start. The database records which key signs its checkpoints (the first
 * that started, then each rotation's), and a server with another key refuses to start: two keys
 * signing at once would leave each process's checkpoints unverifiable by the other's key.
 */
export async function setUpAuditTrail(
  store: Database,
  config: Pick<Config, "auditKeyFile" | "auditLogName" | "dataDir">,
  log: { info(obj: object, msg: string): void },
): Promise<AuditTrail> {
  const file = signingKeyFile(config);
  const { key, created } = loadOrCreateSigningKey(file);
  const signer = new CheckpointSigner(config.auditLogName, key);
  if (created) log.info({ file }, "created the audit checkpoint signing key");
  const keys = await store.signingKeys.enrolSigningKey(signer.verifierKey);
  const current = keys.find((k) => !k.validUntil);
  if (current?.verifierKey !== signer.verifierKey) {
    throw new ConfigError(
      `this database's audit checkpoints are signed by ${current?.verifierKey}, but ${file} holds ${signer.verifierKey}: ` +
        "point --audit-key-file (CHAUKAS_AUDIT_KEY_FILE) at the key that signs them",
    );
  }
  log.info({ verifierKey: signer.verifierKey }, "audit checkpoints are signed by this key");
  return new AuditTrail(
    store,
    signer,
    config.auditLogName,
    keys.map((k) => k.verifierKey),
  );
}

/**
 * Replaces the signing key: a new one in the key file, and in the database as the key that signs
 * from now on (the old one stays listed, for the checkpoints it signed). Servers with the old
 * key sign nothing more and must restart. Returns the new verifier key.
 */
export async function rotateSigningKey(
  store: Database,
  config: Pick<Config, "auditKeyFile" | "auditLogName" | "dataDir">,
): Promise<string> {
  const file = signingKeyFile(config);
  const old = new CheckpointSigner(config.auditLogName, privateKeyFromPem(readFileSync(file, "utf8")));
  const { privateKey } = generateKeyPairSync("ed25519");
  const next = new CheckpointSigner(config.auditLogName, privateKey);
  // The new key is on disk before the database names it, and takes the file's place only once it does.
  const pending = `${file}.next`;
  writeFileSync(pending, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  if (!(await store.signingKeys.rotateSigningKey(old.verifierKey, next.verifierKey))) {
    rmSync(pending);
    throw new ConfigError(`${file} holds ${old.verifierKey}, which does not sign this database's checkpoints now`);
  }
  renameSync(pending, file);
  return next.verifierKey;
}

function signingKeyFile(config: Pick<Config, "auditKeyFile" | "dataDir">): string {
  return config.auditKeyFile ?? join(config.dataDir, "audit-key.pem");
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
