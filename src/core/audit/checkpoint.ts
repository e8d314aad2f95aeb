import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign as signBytes,
  verify as verifyBytes,
} from "node:crypto";

/**
 * Signed checkpoints of the audit log: C2SP tlog-checkpoint bodies (https://c2sp.org/tlog-checkpoint)
 * in C2SP signed notes (https://c2sp.org/signed-note) with Ed25519, readable by the Go
 * golang.org/x/mod/sumdb/note and transparency-dev tooling.
 */

export interface Checkpoint {
  origin: string;
  size: bigint;
  /** 32 bytes: the RFC 6962 Merkle tree root at `size`. */
  rootHash: Uint8Array;
}

/** Thrown when a note is malformed or not signed by the expected key; the message says which. */
export class CheckpointError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CheckpointError";
  }
}

const ALG_ED25519 = 0x01;
const SIG_PREFIX = "\u2014 "; // em dash, space
// Our cap (the spec asks for one); the 100-line cap is Go's, well above the spec's minimum of 16.
const MAX_NOTE_BYTES = 1 << 20;
const MAX_SIGNATURE_LINES = 100;
// Tree sizes are uint64 in every implementation; the bound also keeps BigInt parsing cheap.
const MAX_SIZE = (1n << 64n) - 1n;
const HASH_BYTES = 32;

/** The checkpoint's note body: origin, size and base64 root hash, one per line. */
export function checkpointBody(checkpoint: Checkpoint): string {
  const { origin, size, rootHash } = checkpoint;
  if (origin === "" || !isWellFormed(origin) || hasControlChar(origin, false)) {
    throw new CheckpointError("checkpoint origin must be non-empty text on one line");
  }
  if (typeof size !== "bigint" || size < 0n || size > MAX_SIZE) {
    throw new CheckpointError("checkpoint size must be a bigint in [0, 2^64-1]");
  }
  if (!(rootHash instanceof Uint8Array) || rootHash.length !== HASH_BYTES) {
    throw new CheckpointError(`checkpoint root hash must be ${HASH_BYTES} bytes`);
  }
  return `${origin}\n${size}\n${Buffer.from(rootHash).toString("base64")}\n`;
}

export class CheckpointSigner {
  readonly name: string;
  readonly publicKey: Uint8Array;
  readonly keyId: Uint8Array;
  /** The C2SP verifier key string. */
  readonly verifierKey: string;
  readonly #privateKey: KeyObject;

  /** `privateKey`: an Ed25519 private KeyObject. `name`: the key name shown on signature lines. */
  constructor(name: string, privateKey: KeyObject) {
    if (!isValidKeyName(name)) {
      throw new CheckpointError(
        `invalid key name ${JSON.stringify(name)}: it must be non-empty, without spaces or '+'`,
      );
    }
    if (privateKey.type !== "private" || privateKey.asymmetricKeyType !== "ed25519") {
      throw new CheckpointError(
        `expected an Ed25519 private key, got a ${privateKey.asymmetricKeyType ?? "secret"} key`,
      );
    }
    const jwk = createPublicKey(privateKey).export({ format: "jwk" });
    this.name = name;
    this.publicKey = new Uint8Array(Buffer.from(jwk.x as string, "base64url"));
    this.keyId = keyIdOf(name, this.publicKey);
    this.verifierKey = `${name}+${Buffer.from(this.keyId).toString("hex")}+${typedKey(this.publicKey).toString("base64")}`;
    this.#privateKey = privateKey;
  }

  /** The whole signed note: body, blank line, one signature line. */
  sign(checkpoint: Checkpoint): string {
    const body = checkpointBody(checkpoint);
    const signature = signBytes(null, Buffer.from(body, "utf8"), this.#privateKey);
    const note = `${body}\n${SIG_PREFIX}${this.name} ${Buffer.concat([this.keyId, signature]).toString("base64")}\n`;
    // Never emit a note that openCheckpoint would refuse.
    if (Buffer.byteLength(note, "utf8") > MAX_NOTE_BYTES) throw new CheckpointError("signed note would exceed 1 MiB");
    return note;
  }
}

/** Parses a vkey string; throws CheckpointError when malformed (wrong algorithm byte, bad base64, key ID not matching the key). */
export function parseVerifierKey(vkey: string): { name: string; keyId: Uint8Array; publicKey: KeyObject } {
  // Only the first two '+' separate fields: the base64 key may contain '+' itself.
  const first = vkey.indexOf("+");
  const second = first < 0 ? -1 : vkey.indexOf("+", first + 1);
  if (second < 0) throw new CheckpointError("verifier key must be <name>+<key ID>+<key>");
  const name = vkey.slice(0, first);
  const idHex = vkey.slice(first + 1, second);
  if (!isValidKeyName(name)) throw new CheckpointError("verifier key has an invalid key name");
  // Go's ParseUint accepts either case; we do too.
  if (!/^[0-9a-f]{8}$/i.test(idHex)) throw new CheckpointError("verifier key ID must be 8 hex digits");
  const typed = decodeBase64(vkey.slice(second + 1));
  if (typed === undefined || typed.length === 0) throw new CheckpointError("verifier key is not canonical base64");
  if (typed[0] !== ALG_ED25519)
    throw new CheckpointError(`verifier key algorithm 0x${typed[0].toString(16).padStart(2, "0")} is not Ed25519`);
  if (typed.length !== 1 + 32) throw new CheckpointError("verifier key is not a 32-byte Ed25519 public key");
  const raw = typed.subarray(1);
  const keyId = new Uint8Array(Buffer.from(idHex, "hex"));
  if (!Buffer.from(keyId).equals(keyIdOf(name, raw)))
    throw new CheckpointError("verifier key ID does not match the key");
  const publicKey = createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(raw).toString("base64url") },
    format: "jwk",
  });
  return { name, keyId, publicKey };
}

/**
 * Verifies the note's signature by `verifierKey`, or by one of a key set (the keys a log was
 * signed with over time, each checkpoint by one of them), and returns the checkpoint it states.
 * Throws CheckpointError.
 */
export function openCheckpoint(note: string, verifierKey: string | readonly string[]): Checkpoint {
  const keys = (typeof verifierKey === "string" ? [verifierKey] : verifierKey).map(parseVerifierKey);
  const labelOf = (key: ReturnType<typeof parseVerifierKey>) => `${key.name}+${Buffer.from(key.keyId).toString("hex")}`;
  const keyLabel = keys.map(labelOf).join(" or ");

  if (Buffer.byteLength(note, "utf8") > MAX_NOTE_BYTES) throw new CheckpointError("note exceeds 1 MiB");
  if (!isWellFormed(note)) throw new CheckpointError("note is not valid UTF-8 text");
  if (hasControlChar(note, true)) throw new CheckpointError("note contains a control character other than newline");

  // The text ends at the last blank line; everything after it is signatures (signed-note).
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new CheckpointError("note has no blank line before its signatures");
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block === "") throw new CheckpointError("note has no signature lines");
  if (!block.endsWith("\n")) throw new CheckpointError("note does not end with a newline");
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_SIGNATURE_LINES) throw new CheckpointError(`note has over ${MAX_SIGNATURE_LINES} signatures`);

  const message = Buffer.from(text, "utf8");
  let verified = false;
  for (const line of lines) {
    if (!line.startsWith(SIG_PREFIX)) throw new CheckpointError("signature line does not start with an em dash");
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(" ");
    const name = space < 0 ? "" : rest.slice(0, space);
    const blob = space < 0 ? undefined : decodeBase64(rest.slice(space + 1));
    if (!isValidKeyName(name) || blob === undefined || blob.length < 5) {
      throw new CheckpointError("malformed signature line");
    }
    // Only name AND key ID identify our key; anything else is someone else's signature (spec: ignore it).
    const key = keys.find((candidate) => name === candidate.name && blob.subarray(0, 4).equals(candidate.keyId));
    if (!key) continue;
    const signature = blob.subarray(4);
    // A failed signature by a trusted key rejects the whole note (the spec's SHOULD, and Go's behaviour).
    if (signature.length !== 64 || !verifyBytes(null, message, key.publicKey, signature)) {
      throw new CheckpointError(`signature by ${labelOf(key)} does not verify`);
    }
    verified = true;
  }
  if (!verified) throw new CheckpointError(`note has no signature by ${keyLabel}`);
  return parseBody(text);
}

/**
 * The note a saved file holds. A signed note ends with the newline of its last signature line;
 * tools that print it as a line (`jq -r .checkpoint.note > cp.txt`) add one more, which is
 * dropped. Only that one: anything else stays for openCheckpoint to judge.
 */
export function noteOfFile(text: string): string {
  return text.endsWith("\n\n") ? text.slice(0, -1) : text;
}

/** Reads an Ed25519 private key from PKCS#8 PEM text; throws CheckpointError for any other key type. */
export function privateKeyFromPem(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch (err) {
    throw new CheckpointError(`cannot read the private key PEM (an unencrypted PKCS#8 Ed25519 key is expected)`, {
      cause: err,
    });
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new CheckpointError(`expected an Ed25519 private key, got ${key.asymmetricKeyType}`);
  }
  return key;
}

/** The checkpoint a verified note text states; extension lines after the third are ignored. */
function parseBody(text: string): Checkpoint {
  const lines = text.slice(0, -1).split("\n");
  if (lines[0] === "") throw new CheckpointError("checkpoint origin is empty");
  if (lines.length < 3) throw new CheckpointError("checkpoint body has fewer than three lines");
  if (lines.includes("")) throw new CheckpointError("checkpoint body has an empty line");
  const [origin, sizeText, rootText] = lines;
  // Canonical decimal only, so one checkpoint has exactly one text (and one signature).
  if (!/^(0|[1-9][0-9]{0,19})$/.test(sizeText) || BigInt(sizeText) > MAX_SIZE) {
    throw new CheckpointError("checkpoint size is not a canonical decimal in [0, 2^64-1]");
  }
  const rootHash = decodeBase64(rootText);
  if (rootHash === undefined || rootHash.length !== HASH_BYTES) {
    throw new CheckpointError(`checkpoint root hash is not ${HASH_BYTES} bytes of canonical base64`);
  }
  return { origin, size: BigInt(sizeText), rootHash: new Uint8Array(rootHash) };
}

/** Standard padded base64, or undefined. Node decodes leniently, so canonical means "re-encodes to itself". */
function decodeBase64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, "base64");
  return bytes.toString("base64") === text ? bytes : undefined;
}

/** signed-note: SHA-256(name || 0x0A || 0x01 || public key)[:4]. */
function keyIdOf(name: string, rawPublicKey: Uint8Array): Buffer {
  const digest = createHash("sha256").update(`${name}\n`, "utf8").update(typedKey(rawPublicKey)).digest();
  return digest.subarray(0, 4);
}

function typedKey(rawPublicKey: Uint8Array): Buffer {
  return Buffer.concat([Uint8Array.of(ALG_ED25519), rawPublicKey]);
}

/** Non-empty, no Unicode space (Go's unicode.IsSpace, hence U+0085), no '+', no control character. */
function isValidKeyName(name: string): boolean {
  return name !== "" && isWellFormed(name) && !/[\s\u0085+]/u.test(name) && !hasControlChar(name, false);
}

/** No lone surrogates: such a string has no UTF-8 form, so its signed bytes would not be its text. */
function isWellFormed(text: string): boolean {
  return !/\p{Cs}/u.test(text);
}

function hasControlChar(text: string, newlineAllowed: boolean): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && !(newlineAllowed && c === 0x0a)) return true;
  }
  return false;
}

/** What Event.worm_proof_id holds: the name of the first checkpoint that includes the event. */
export function checkpointId(size: bigint): string {
  return `checkpoint/${size}`;
}
