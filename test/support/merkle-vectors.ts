import { readdirSync, readFileSync } from "node:fs";

/** The transparency-dev/merkle test vectors, vendored with their origin and licence (vendor/README.md). */
const VECTORS = new URL("../../vendor/transparency-dev-merkle/", import.meta.url);

export interface InclusionVector {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

export interface ConsistencyVector {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

/** Every vector of a kind, by its file name under the kind's folder, in name order. */
export function merkleVectors<T extends InclusionVector | ConsistencyVector>(
  kind: T extends InclusionVector ? "inclusion" : "consistency",
): [string, T][] {
  const dir = new URL(`${kind}/`, VECTORS);
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".json"))
    .sort()
    .map((file) => [file, JSON.parse(readFileSync(new URL(file, dir), "utf8")) as T]);
}
