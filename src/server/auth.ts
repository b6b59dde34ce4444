/** Bearer-token authentication: the token's source, and a constant-time check of each call. */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { join } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import { Code, StupidModalError } from "../wire/errors.ts";

/** The server's token and where it came from. */
export interface ServerToken {
  token: string;
  /** Set when the server generated the token and wrote it there. */
  file?: string;
}

/** The token from the flag or STUPID_MODAL_TOKEN; else a new one, written owner-only. */
export async function serverToken(given: string | undefined, dataDir: string): Promise<ServerToken> {
  if (given) return { token: given };
  const token = randomBytes(32).toString("base64url");
  const file = join(dataDir, "token");
  await Deno.writeTextFile(file, token + "\n", { mode: 0o600 });
  await Deno.chmod(file, 0o600);
  return { token, file };
}

/** Checks call metadata for `authorization: Bearer <token>`, in constant time. */
export class Authenticator {
  #digest: Buffer;

  constructor(token: string) {
    this.#digest = digest(token);
  }

  /** Throws UNAUTHENTICATED unless the metadata carries the right token. */
  check(metadata: grpc.Metadata): void {
    const header = metadata.get("authorization")[0];
    const presented = typeof header === "string" && header.startsWith("Bearer ") ? header.slice(7) : undefined;
    if (presented === undefined) {
      throw new StupidModalError(
        Code.UNAUTHENTICATED,
        "missing bearer token (metadata `authorization: Bearer <token>`)",
      );
    }
    if (!timingSafeEqual(digest(presented), this.#digest)) {
      throw new StupidModalError(Code.UNAUTHENTICATED, "wrong token");
    }
  }
}

// Comparing fixed-length digests keeps the comparison constant-time whatever the lengths.
function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}
