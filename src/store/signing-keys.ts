/** A key that signs, or signed, the database's checkpoints. */
export interface SigningKey {
  /** C2SP verifier key: `<name>+<key id hex>+<base64(0x01 ‖ Ed25519 public key)>`. */
  verifierKey: string;
  validFrom: Date;
  /** When it stopped signing; undefined while it signs. */
  validUntil?: Date;
}

/**
 * The checkpoint signing keys of the database. Promise: at most one signs at a time, and no key
 * is ever removed, so every checkpoint stays verifiable with the key that signed it.
 */
export interface SigningKeyStore {
  /** Every key, oldest first. */
  signingKeys(): Promise<SigningKey[]>;
  /** Records `verifierKey` as the signing key if the database has none yet; returns every key. */
  enrolSigningKey(verifierKey: string): Promise<SigningKey[]>;
  /** Stops `current` and makes `next` the signing key, in one go; false if `current` was not signing. */
  rotateSigningKey(current: string, next: string): Promise<boolean>;
}
