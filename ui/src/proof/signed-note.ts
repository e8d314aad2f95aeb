import { equalBytes, fromBase64, sha256 } from "./bytes.ts";

/** C2SP signed notes and checkpoints (tlog-checkpoint), checked with WebCrypto's Ed25519. */

export interface VerifierKey {
  name: string;
  keyId: Uint8Array;
  /** The raw 32-byte Ed25519 public key. */
  publicKey: Uint8Array;
}

export interface SignedCheckpoint {
  origin: string;
  size: bigint;
  rootHash: Uint8Array;
}

const ALG_ED25519 = 0x01;
const SIG_PREFIX = "\u2014 ";
const encoder = new TextEncoder();

/** `<name>+<key id hex>+<base64(0x01 || key)>`, with the key id checked against the key. Throws Error. */
export async function parseVerifierKey(text: string): Promise<VerifierKey> {
  const [name, idHex] = text.split("+", 2);
  const typed = fromBase64(text.slice(`${name}+${idHex}+`.length));
  if (!name || !/^[0-9a-f]{8}$/i.test(idHex ?? "") || !typed) throw new Error("the verifier key is malformed");
  if (typed.length !== 33 || typed[0] !== ALG_ED25519) throw new Error("the verifier key is not an Ed25519 key");
  const keyId = (await sha256(encoder.encode(`${name}\n`), typed)).slice(0, 4);
  if (idHex.toLowerCase() !== Array.from(keyId, (b) => b.toString(16).padStart(2, "0")).join("")) {
    throw new Error("the verifier key's id does not match its key");
  }
  return { name, keyId, publicKey: typed.slice(1) };
}

/**
 * The checkpoint a note states, once its signature by `key` verifies. Throws Error saying why not:
 * no signature by the key, a signature that does not verify, or a malformed note.
 */
export async function openCheckpoint(note: string, key: VerifierKey): Promise<SignedCheckpoint> {
  const split = note.lastIndexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) throw new Error("the note is not a signed note");
  const text = note.slice(0, split + 1);
  const publicKey = await crypto.subtle.importKey("raw", Uint8Array.from(key.publicKey), { name: "Ed25519" }, false, [
    "verify",
  ]);
  let verified = false;
  for (const line of note.slice(split + 2, -1).split("\n")) {
    if (!line.startsWith(SIG_PREFIX)) throw new Error("the note has a malformed signature line");
    const [name, blobText] = line.slice(SIG_PREFIX.length).split(" ");
    const blob = fromBase64(blobText ?? "");
    if (!blob || blob.length < 5) throw new Error("the note has a malformed signature line");
    // Other keys' signatures are not ours to judge (signed-note: ignore them).
    if (name !== key.name || !equalBytes(blob.slice(0, 4), key.keyId)) continue;
    const signature = blob.slice(4);
    if (
      signature.length !== 64 ||
      !(await crypto.subtle.verify("Ed25519", publicKey, signature, encoder.encode(text)))
    ) {
      throw new Error(`the signature by ${key.name} does not verify`);
    }
    verified = true;
  }
  if (!verified) throw new Error(`the note has no signature by ${key.name}`);
  return checkpointOfBody(text);
}

function checkpointOfBody(text: string): SignedCheckpoint {
  const [origin, sizeText, rootText] = text.slice(0, -1).split("\n");
  const rootHash = fromBase64(rootText ?? "");
  if (!origin || !/^(0|[1-9][0-9]{0,19})$/.test(sizeText ?? "") || !rootHash || rootHash.length !== 32) {
    throw new Error("the note's body is not a checkpoint");
  }
  return { origin, size: BigInt(sizeText), rootHash };
}
