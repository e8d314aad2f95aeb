import { execFileSync, spawnSync } from "node:child_process";
import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  verify,
} from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type Checkpoint,
  CheckpointError,
  CheckpointSigner,
  checkpointBody,
  openCheckpoint,
  parseVerifierKey,
  privateKeyFromPem,
} from "../../../src/core/audit/checkpoint.ts";

const DASH = "\u2014";

/** An Ed25519 private key from its 32-byte seed, via the fixed PKCS#8 DER prefix. */
function keyFromSeed(seed: Uint8Array): KeyObject {
  const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
  return createPrivateKey({ key: der, format: "der", type: "pkcs8" });
}

/** A signature line over `text` by `key`, claiming `name` and `keyId` (which the test may forge). */
function signatureLine(text: string, name: string, keyId: Uint8Array, key: KeyObject): string {
  const signature = sign(null, Buffer.from(text, "utf8"), key);
  return `${DASH} ${name} ${Buffer.concat([keyId, signature]).toString("base64")}\n`;
}

/** The signature lines of a note (everything after the last blank line). */
function signatureLines(note: string): string {
  return note.slice(note.lastIndexOf("\n\n") + 2);
}

function newSigner(name: string): CheckpointSigner {
  return new CheckpointSigner(name, generateKeyPairSync("ed25519").privateKey);
}

function expectCheckpointError(run: () => unknown, message: RegExp) {
  let thrown: unknown;
  try {
    run();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(CheckpointError);
  expect((thrown as Error).message).toMatch(message);
}

// RFC 8032 section 7.1 test 1: the seed and the public key it must derive.
const FIXED_SEED = Buffer.from("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "hex");
const FIXED_PUBLIC = Buffer.from("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "hex");
const FIXED_NAME = "chaukas.example/audit";
// SHA-256("checkpoint test root")
const FIXED_ROOT = Buffer.from("p4W4x7yMQVAHE7ns7wOa5uqt2jdMAzWxHJa3MqLUWkg=", "base64");
const fixed = new CheckpointSigner(FIXED_NAME, keyFromSeed(FIXED_SEED));
const fixedCheckpoint: Checkpoint = { origin: FIXED_NAME, size: 42n, rootHash: new Uint8Array(FIXED_ROOT) };

describe("checkpoint format", () => {
  it("writes the body as origin, decimal size and base64 root, one per line", () => {
    expect(checkpointBody(fixedCheckpoint)).toBe(
      "chaukas.example/audit\n42\np4W4x7yMQVAHE7ns7wOa5uqt2jdMAzWxHJa3MqLUWkg=\n",
    );
    expect(checkpointBody({ ...fixedCheckpoint, size: 0n })).toContain("\n0\n");
    expect(checkpointBody({ ...fixedCheckpoint, size: 2n ** 64n - 1n })).toContain("\n18446744073709551615\n");
  });

  it("derives the public key, key ID and verifier key of a fixed seed", () => {
    expect(Buffer.from(fixed.publicKey)).toEqual(FIXED_PUBLIC);
    // Key ID computed here from the signed-note formula, independently of the module.
    const expectedId = createHash("sha256")
      .update(Buffer.concat([Buffer.from(`${FIXED_NAME}\n`), Buffer.of(0x01), FIXED_PUBLIC]))
      .digest()
      .subarray(0, 4);
    expect(Buffer.from(fixed.keyId)).toEqual(expectedId);
    expect(expectedId.toString("hex")).toBe("06c97a23");
    expect(fixed.verifierKey).toBe("chaukas.example/audit+06c97a23+AddamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea");
  });

  it("signs byte for byte as expected (signature computed with openssl pkeyutl from the same seed)", () => {
    expect(fixed.sign(fixedCheckpoint)).toBe(
      "chaukas.example/audit\n42\np4W4x7yMQVAHE7ns7wOa5uqt2jdMAzWxHJa3MqLUWkg=\n\n" +
        `${DASH} chaukas.example/audit Bsl6I3Hrrji62P6SpRqtspJpGdi4V2UJ9whGkRulCBirf4Aty35Qk5VHMUg8ofOPmxvewBc1uDOOqhTuIjRdJguluAg=\n`,
    );
  });

  it("refuses to write bodies that are not checkpoints", () => {
    const bad: Partial<Checkpoint>[] = [
      { origin: "" },
      { origin: "two\nlines" },
      { origin: "tab\there" },
      { origin: "lone \ud800 surrogate" },
      { size: -1n },
      { size: 2n ** 64n },
      { rootHash: new Uint8Array(31) },
      { rootHash: new Uint8Array(33) },
    ];
    for (const change of bad) {
      expectCheckpointError(() => checkpointBody({ ...fixedCheckpoint, ...change }), /checkpoint/);
      expectCheckpointError(() => fixed.sign({ ...fixedCheckpoint, ...change }), /checkpoint/);
    }
  });

  it("refuses invalid key names and non-Ed25519 keys for signing", () => {
    const key = generateKeyPairSync("ed25519");
    for (const name of ["", "a b", "a+b", "a\tb", "a\nb", "a\u00a0b", "a\u2003b", "a\u0085b", "a\u0001b"]) {
      expectCheckpointError(() => new CheckpointSigner(name, key.privateKey), /invalid key name/);
    }
    expectCheckpointError(() => new CheckpointSigner("log", key.publicKey), /Ed25519 private key/);
    expectCheckpointError(() => new CheckpointSigner("log", generateKeyPairSync("x25519").privateKey), /x25519/);
  });
});

describe("openCheckpoint", () => {
  it("round-trips what the signer signed", () => {
    const signer = newSigner("log.example/one");
    for (const checkpoint of [
      fixedCheckpoint,
      { origin: "an origin with spaces and ünïcødé ✓", size: 0n, rootHash: new Uint8Array(randomBytes(32)) },
      { origin: "log.example/one", size: 2n ** 64n - 1n, rootHash: new Uint8Array(32) },
    ]) {
      expect(openCheckpoint(signer.sign(checkpoint), signer.verifierKey)).toEqual(checkpoint);
    }
    expect(openCheckpoint(fixed.sign(fixedCheckpoint), fixed.verifierKey)).toEqual(fixedCheckpoint);
  });

  it("rejects a note whose body was altered", () => {
    const note = fixed.sign(fixedCheckpoint);
    const root = FIXED_ROOT.toString("base64");
    const otherRoot = Buffer.from(FIXED_ROOT.map((b, i) => (i === 0 ? b ^ 1 : b))).toString("base64");
    for (const altered of [
      note.replace("\n42\n", "\n43\n"),
      note.replace("\n42\n", "\n420\n"),
      note.replace(root, otherRoot),
      note.replace("chaukas.example/audit\n", "chaukas.example/audi\n"),
      note.replace("chaukas.example/audit\n", "chaukas.example/audit \n"),
      note.replace(`${root}\n`, `${root}\nextension\n`),
    ]) {
      expect(altered).not.toBe(note);
      expectCheckpointError(() => openCheckpoint(altered, fixed.verifierKey), /signature by .* does not verify/);
    }
  });

  it("rejects a note whose signature was altered", () => {
    const note = fixed.sign(fixedCheckpoint);
    const line = signatureLines(note);
    const blob = Buffer.from(line.slice(2 + FIXED_NAME.length + 1, -1), "base64");
    for (const index of [4, 20, 67]) {
      const changed = Buffer.from(blob);
      changed[index] ^= 0x01;
      const forged = note.replace(blob.toString("base64"), changed.toString("base64"));
      expectCheckpointError(() => openCheckpoint(forged, fixed.verifierKey), /does not verify/);
    }
    // A changed key ID makes it another key's signature, so ours is missing.
    const changedId = Buffer.from(blob);
    changedId[0] ^= 0x01;
    expectCheckpointError(
      () => openCheckpoint(note.replace(blob.toString("base64"), changedId.toString("base64")), fixed.verifierKey),
      /no signature by chaukas\.example\/audit\+06c97a23/,
    );
    // A truncated signature with our key ID is refused, not ignored.
    const short = Buffer.concat([blob.subarray(0, 4), blob.subarray(5)]).toString("base64");
    expectCheckpointError(
      () => openCheckpoint(note.replace(blob.toString("base64"), short), fixed.verifierKey),
      /does not verify/,
    );
  });

  it("rejects notes signed only by other keys, including one with the same name", () => {
    const other = newSigner("log.example/other");
    const sameName = new CheckpointSigner(FIXED_NAME, generateKeyPairSync("ed25519").privateKey);
    expect(sameName.verifierKey).not.toBe(fixed.verifierKey);
    for (const signer of [other, sameName]) {
      expectCheckpointError(() => openCheckpoint(signer.sign(fixedCheckpoint), fixed.verifierKey), /no signature by/);
    }
    // Our name and key ID, but the signature made with another key.
    const body = checkpointBody(fixedCheckpoint);
    const forged = `${body}\n${signatureLine(body, FIXED_NAME, fixed.keyId, generateKeyPairSync("ed25519").privateKey)}`;
    expectCheckpointError(() => openCheckpoint(forged, fixed.verifierKey), /does not verify/);
  });

  it("ignores signatures by other keys next to ours", () => {
    const body = checkpointBody(fixedCheckpoint);
    const ours = signatureLines(fixed.sign(fixedCheckpoint));
    const witness = signatureLines(newSigner("witness.example").sign(fixedCheckpoint));
    const sameName = signatureLines(
      new CheckpointSigner(FIXED_NAME, generateKeyPairSync("ed25519").privateKey).sign(fixedCheckpoint),
    );
    // An unknown algorithm's signature (any length) from an unknown key.
    const foreign = `${DASH} pq.example ${randomBytes(2420).toString("base64")}\n`;
    for (const lines of [witness + ours, ours + witness, sameName + foreign + ours + witness, ours + ours]) {
      expect(openCheckpoint(`${body}\n${lines}`, fixed.verifierKey)).toEqual(fixedCheckpoint);
    }
    // But one bad signature by our key rejects the note even next to a good one.
    const badOurs = signatureLine("something else\n", FIXED_NAME, fixed.keyId, keyFromSeed(FIXED_SEED));
    expectCheckpointError(() => openCheckpoint(`${body}\n${ours}${badOurs}`, fixed.verifierKey), /does not verify/);
  });

  it("rejects malformed notes", () => {
    const note = fixed.sign(fixedCheckpoint);
    const body = checkpointBody(fixedCheckpoint);
    const line = signatureLines(note);
    const cases: [string, RegExp][] = [
      [body, /no blank line/],
      [`${body}${line}`, /no blank line/],
      [`${body}\n`, /no signature lines/],
      [note.slice(0, -1), /does not end with a newline/],
      [note.replace(/\n/g, "\r\n"), /control character/],
      [note.replace("chaukas", "chau\u0000kas"), /control character/],
      [note.replace("\n42\n", "\n4\ud8002\n"), /not valid UTF-8/],
      [`${body}\n${line.replace(DASH, "-")}`, /em dash/],
      [`${body}\n${line.replace(DASH, "--")}`, /em dash/],
      [`${body}\n${line.replace(`${DASH} `, DASH)}`, /em dash/],
      [`${body}\n${line.replace(FIXED_NAME, "bad+name")}`, /malformed signature line/],
      [`${body}\n${line.replace(`${FIXED_NAME} `, FIXED_NAME)}`, /malformed signature line/],
      [`${body}\n${line.replace(/=\n$/, "\n")}`, /malformed signature line/],
      [`${body}\n${line.replace(/ (\S+)\n$/, " $1 \n")}`, /malformed signature line/],
      [`${body}\n${line.replace(/.=\n$/, "-=\n")}`, /malformed signature line/], // base64url
      [`${body}\n${DASH} ${FIXED_NAME} AAAA\n`, /malformed signature line/],
      [`${body}\n${DASH} ${FIXED_NAME} \n`, /malformed signature line/],
      [`${body}\n${line}\n`, /no signature lines/], // the last blank line ends the text
      [`${body}\n${line}Unexpected line.\n`, /em dash/],
      [`${body}\n${line.repeat(101)}`, /over 100 signatures/],
      [`${"x".repeat(1 << 20)}\n\n${line}`, /exceeds 1 MiB/],
    ];
    for (const [malformed, message] of cases) {
      expectCheckpointError(() => openCheckpoint(malformed, fixed.verifierKey), message);
    }
    // 100 signature lines are still accepted.
    expect(openCheckpoint(`${body}\n${line.repeat(100)}`, fixed.verifierKey)).toEqual(fixedCheckpoint);
  });

  it("rejects validly signed bodies that are not canonical checkpoints", () => {
    const root = FIXED_ROOT.toString("base64");
    const signed = (text: string) =>
      `${text}\n${signatureLine(text, FIXED_NAME, fixed.keyId, keyFromSeed(FIXED_SEED))}`;
    const cases: [string, RegExp][] = [
      [`\n42\n${root}\n`, /origin is empty/],
      [`\n`, /origin is empty/],
      [`log\n42\n`, /fewer than three lines/],
      [`log\n42\n${root}\n\nextension\n`, /empty line/],
      [`log\n\n${root}\n`, /empty line/],
      [`log\n042\n${root}\n`, /size/],
      [`log\n00\n${root}\n`, /size/],
      [`log\n+42\n${root}\n`, /size/],
      [`log\n-1\n${root}\n`, /size/],
      [`log\n 42\n${root}\n`, /size/],
      [`log\n42.0\n${root}\n`, /size/],
      [`log\n0x2a\n${root}\n`, /size/],
      [`log\n4e1\n${root}\n`, /size/],
      [`log\n18446744073709551616\n${root}\n`, /size/],
      [`log\n${"9".repeat(400)}\n${root}\n`, /size/],
      [`log\n42\n${root.slice(0, -1)}\n`, /root hash/],
      [`log\n42\n-${root.slice(1)}\n`, /root hash/], // base64url is not standard base64
      [`log\n42\n_${root.slice(1)}\n`, /root hash/],
      [`log\n42\n${Buffer.alloc(31).toString("base64")}\n`, /root hash/],
      [`log\n42\n${Buffer.alloc(33).toString("base64")}\n`, /root hash/],
      [`log\n42\n${root.slice(0, -2)}h=\n`, /root hash/], // non-zero padding bits
      [`log\n42\n${root} \n`, /root hash/],
    ];
    for (const [text, message] of cases) {
      expectCheckpointError(() => openCheckpoint(signed(text), fixed.verifierKey), message);
    }
    // Extension lines are accepted and ignored; the largest uint64 size is accepted.
    expect(openCheckpoint(signed(`log\n42\n${root}\next one\next two\n`), fixed.verifierKey)).toEqual({
      origin: "log",
      size: 42n,
      rootHash: new Uint8Array(FIXED_ROOT),
    });
    expect(openCheckpoint(signed(`log\n18446744073709551615\n${root}\n`), fixed.verifierKey).size).toBe(2n ** 64n - 1n);
  });

  it("opens a note close to 1 MiB and refuses to sign a larger one", () => {
    const big = { ...fixedCheckpoint, origin: "o".repeat((1 << 20) - 200) };
    expect(openCheckpoint(fixed.sign(big), fixed.verifierKey)).toEqual(big);
    expectCheckpointError(() => fixed.sign({ ...fixedCheckpoint, origin: "o".repeat(1 << 20) }), /exceed 1 MiB/);
  });
});

describe("parseVerifierKey", () => {
  it("returns the name, key ID and a key that verifies the signer's signatures", () => {
    const parsed = parseVerifierKey(fixed.verifierKey);
    expect(parsed.name).toBe(FIXED_NAME);
    expect(Buffer.from(parsed.keyId).toString("hex")).toBe("06c97a23");
    expect(parsed.publicKey.asymmetricKeyType).toBe("ed25519");
    expect(parsed.publicKey.export({ format: "jwk" }).x).toBe(FIXED_PUBLIC.toString("base64url"));
  });

  it("rejects malformed verifier keys", () => {
    const typed = Buffer.concat([Buffer.of(0x01), FIXED_PUBLIC]);
    const idFor = (name: string, key: Buffer) =>
      createHash("sha256").update(`${name}\n`).update(key).digest().subarray(0, 4).toString("hex");
    const x25519Typed = Buffer.concat([Buffer.of(0x04), FIXED_PUBLIC]);
    const cases: [string, RegExp][] = [
      ["", /<name>\+<key ID>\+<key>/],
      [FIXED_NAME, /<name>\+<key ID>\+<key>/],
      [`${FIXED_NAME}+06c97a23`, /<name>\+<key ID>\+<key>/],
      [`+06c97a23+${typed.toString("base64")}`, /key name/],
      [`a b+06c97a23+${typed.toString("base64")}`, /key name/],
      [`${FIXED_NAME}+06c97a2+${typed.toString("base64")}`, /8 hex digits/],
      [`${FIXED_NAME}+06c97a23a+${typed.toString("base64")}`, /8 hex digits/],
      [`${FIXED_NAME}+06c97a2g+${typed.toString("base64")}`, /8 hex digits/],
      [`${FIXED_NAME}+06c97a23+`, /base64/],
      [`${FIXED_NAME}+06c97a23+${typed.toString("base64")}=`, /base64/],
      [`${FIXED_NAME}+06c97a23+${typed.toString("base64url")}`, /base64/],
      [`${FIXED_NAME}+06c97a23+${typed.toString("base64")}+`, /base64/],
      [`${FIXED_NAME}+06c97a24+${typed.toString("base64")}`, /does not match/],
      [`other+06c97a23+${typed.toString("base64")}`, /does not match/],
      // Wrong algorithm byte, with the key ID adjusted so that only the algorithm is wrong.
      [`${FIXED_NAME}+${idFor(FIXED_NAME, x25519Typed)}+${x25519Typed.toString("base64")}`, /0x04 is not Ed25519/],
      [`${FIXED_NAME}+00000000+${FIXED_PUBLIC.toString("base64")}`, /not Ed25519/],
    ];
    for (const [vkey, message] of cases) {
      expectCheckpointError(() => parseVerifierKey(vkey), message);
      expectCheckpointError(() => openCheckpoint(fixed.sign(fixedCheckpoint), vkey), message);
    }
    const short = typed.subarray(0, 32);
    expectCheckpointError(
      () => parseVerifierKey(`${FIXED_NAME}+${idFor(FIXED_NAME, short)}+${short.toString("base64")}`),
      /32-byte/,
    );
  });

  it("accepts an upper-case key ID, as Go does", () => {
    const [name, id, key] = fixed.verifierKey.split("+", 3);
    const upper = `${name}+${id.toUpperCase()}+${fixed.verifierKey.slice(name.length + id.length + 2)}`;
    expect(key).toBeDefined();
    expect(openCheckpoint(fixed.sign(fixedCheckpoint), upper)).toEqual(fixedCheckpoint);
  });
});

// Vectors from golang.org/x/mod/sumdb/note (note_test.go, TestNewVerifier/TestSign/TestOpen) and
// transparency-dev/formats (log/note_test.go, TestSumDBNoteParsing: a real sum.golang.org checkpoint).
describe("interoperability with the Go implementations", () => {
  const peterVkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
  const peterSkey64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"; // 0x01 || seed, from Go's signer key
  const enochVkey = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
  const goText =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
  const peterSig = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=";
  const enochSig = "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=";
  const sumdbVkey = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
  const sumdbNote =
    "go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n" +
    `${DASH} sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n`;

  it("derives Go's verifier key and signature from Go's signer key", () => {
    const seed = Buffer.from(peterSkey64, "base64").subarray(1);
    const peter = new CheckpointSigner("PeterNeumann", keyFromSeed(seed));
    expect(peter.verifierKey).toBe(peterVkey);
    const signature = sign(null, Buffer.from(goText), keyFromSeed(seed));
    expect(Buffer.concat([peter.keyId, signature]).toString("base64")).toBe(peterSig);
  });

  it("parses Go's verifier keys and checks Go's signatures with them", () => {
    for (const [vkey, blob64] of [
      [peterVkey, peterSig],
      [enochVkey, enochSig],
    ]) {
      const key = parseVerifierKey(vkey);
      const blob = Buffer.from(blob64, "base64");
      expect(blob.subarray(0, 4).toString("hex")).toBe(vkey.split("+")[1]);
      expect(verify(null, Buffer.from(goText), key.publicKey, blob.subarray(4))).toBe(true);
      expect(verify(null, Buffer.from(`${goText} `), key.publicKey, blob.subarray(4))).toBe(false);
    }
  });

  it("rejects Go's mangled verifier keys", () => {
    // Every proper substring and every single-character increment of a valid key is invalid.
    for (let i = 0; i <= peterVkey.length; i++) {
      for (let j = i + 1; j <= peterVkey.length; j++) {
        if (i === 0 && j === peterVkey.length) continue;
        expect(() => parseVerifierKey(peterVkey.slice(i, j))).toThrow(CheckpointError);
      }
    }
    for (let i = 0; i < peterVkey.length; i++) {
      const mangled = peterVkey.slice(0, i) + String.fromCharCode(peterVkey.charCodeAt(i) + 1) + peterVkey.slice(i + 1);
      expect(() => parseVerifierKey(mangled)).toThrow(CheckpointError);
    }
    // Go's wrong-length and unknown-algorithm keys, both with adjusted key IDs.
    expectCheckpointError(
      () => parseVerifierKey("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="),
      /32-byte|base64/, // Go decodes its non-canonical base64, then refuses the length; we refuse the base64
    );
    expectCheckpointError(
      () => parseVerifierKey("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
      /not Ed25519/,
    );
  });

  it("opens a real sum.golang.org checkpoint", () => {
    expect(openCheckpoint(sumdbNote, sumdbVkey)).toEqual({
      origin: "go.sum database tree",
      size: 6476701n,
      rootHash: new Uint8Array(Buffer.from("mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=", "base64")),
    });
    expectCheckpointError(() => openCheckpoint(sumdbNote.replace("6476701", "6476702"), sumdbVkey), /does not verify/);
    expectCheckpointError(() => openCheckpoint(sumdbNote, peterVkey), /no signature by PeterNeumann\+c74f20a3/);
    // With Go's own signatures appended: those keys are not ours, so they are ignored.
    const withOthers = `${sumdbNote}${DASH} PeterNeumann ${peterSig}\n${DASH} EnochRoot ${enochSig}\n`;
    expect(openCheckpoint(withOthers, sumdbVkey).size).toBe(6476701n);
  });
});

describe("privateKeyFromPem", () => {
  it("reads a PKCS#8 Ed25519 key as exported by node:crypto", () => {
    const pem = keyFromSeed(FIXED_SEED).export({ format: "pem", type: "pkcs8" }) as string;
    const key = privateKeyFromPem(pem);
    expect(key.asymmetricKeyType).toBe("ed25519");
    expect(new CheckpointSigner(FIXED_NAME, key).verifierKey).toBe(fixed.verifierKey);
  });

  it("refuses other key types, public keys, encrypted keys and garbage", () => {
    const pkcs8 = { format: "pem", type: "pkcs8" } as const;
    const spki = { format: "pem", type: "spki" } as const;
    const others: [string, RegExp][] = [
      [generateKeyPairSync("x25519", { privateKeyEncoding: pkcs8, publicKeyEncoding: spki }).privateKey, /x25519/],
      [generateKeyPairSync("ed448", { privateKeyEncoding: pkcs8, publicKeyEncoding: spki }).privateKey, /ed448/],
      [
        generateKeyPairSync("ec", { namedCurve: "P-256", privateKeyEncoding: pkcs8, publicKeyEncoding: spki })
          .privateKey,
        /got ec/,
      ],
      [generateKeyPairSync("ed25519", { privateKeyEncoding: pkcs8, publicKeyEncoding: spki }).publicKey, /cannot read/],
      [
        generateKeyPairSync("ed25519", {
          privateKeyEncoding: { ...pkcs8, cipher: "aes-256-cbc", passphrase: "secret" },
          publicKeyEncoding: spki,
        }).privateKey,
        /cannot read/,
      ],
      ["not a key", /cannot read/],
      ["", /cannot read/],
    ];
    for (const [pem, message] of others) {
      expectCheckpointError(() => privateKeyFromPem(pem), message);
    }
  });
});

const opensslFound = spawnSync("openssl", ["version"]).status === 0;

describe("interoperability with openssl", () => {
  it.skipIf(!opensslFound)(
    opensslFound
      ? "signs with a key from openssl genpkey in a way openssl pkeyutl verifies"
      : "SKIPPED: openssl is not installed, so the outside check of the signature cannot run",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "checkpoint-"));
      try {
        const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
        openssl("genpkey", "-algorithm", "ed25519", "-out", "key.pem");
        openssl("pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem");
        const signer = new CheckpointSigner(
          "openssl.example/log",
          privateKeyFromPem(readFileSync(join(dir, "key.pem"), "utf8")),
        );
        // openssl's view of the public key (the last 32 bytes of the SPKI DER) is the signer's.
        expect(openssl("pkey", "-pubin", "-in", "pub.pem", "-outform", "DER").subarray(-32)).toEqual(
          Buffer.from(signer.publicKey),
        );

        const checkpoint = { origin: "openssl.example/log", size: 1234n, rootHash: new Uint8Array(randomBytes(32)) };
        const note = signer.sign(checkpoint);
        const line = signatureLines(note);
        const blob = Buffer.from(line.slice(`${DASH} openssl.example/log `.length, -1), "base64");
        expect(blob.subarray(0, 4)).toEqual(Buffer.from(signer.keyId));
        writeFileSync(join(dir, "body.txt"), checkpointBody(checkpoint));
        writeFileSync(join(dir, "sig.bin"), blob.subarray(4));
        const verifyArgs = ["pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-sigfile", "sig.bin"];
        expect(openssl(...verifyArgs, "-in", "body.txt").toString()).toMatch(/Signature Verified Successfully/);

        // openssl must also refuse the signature over a changed body.
        writeFileSync(join(dir, "body.txt"), checkpointBody({ ...checkpoint, size: 1235n }));
        expect(spawnSync("openssl", [...verifyArgs, "-in", "body.txt"], { cwd: dir }).status).not.toBe(0);

        expect(openCheckpoint(note, signer.verifierKey)).toEqual(checkpoint);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
