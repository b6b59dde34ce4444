/**
 * Dashboard sessions, in the server's memory: a random id (what the browser's cookie holds) mapped
 * to whom the token presented at login stands for, until it expires or the token stops being valid.
 */
import { createHash, randomBytes } from "node:crypto";
import type { DashboardIdentity } from "./token_identity.ts";

/** A live session. */
export interface DashboardSession {
  identity: DashboardIdentity;
  createdAt: number;
  expiresAt: number;
}

interface Entry extends DashboardSession {
  /** False once the token presented at login no longer gives this identity (revoked, say). */
  stillValid: () => boolean;
}

/** How long sessions last and how many may be open. */
export interface SessionOptions {
  /** A session's lifetime from login (default eight hours). */
  ttlMs?: number;
  /** Open sessions at most; the oldest is dropped for a new one (default 1000). */
  maxSessions?: number;
  /** The clock (for tests). */
  now?: () => number;
}

/**
 * Opens, finds and closes sessions. Ids are 32 random bytes; only their SHA-256 is kept, so the
 * table itself holds nothing a browser could present.
 *
 * @example
 * ```ts
 * const sessions = new DashboardSessions();
 * const id = sessions.open({ name: "root", scopes: ["admin"] }, () => true);
 * sessions.find(id)?.identity.name; // "root"
 * sessions.close(id);
 * ```
 */
export class DashboardSessions {
  readonly ttlMs: number;
  #maxSessions: number;
  #now: () => number;
  #byDigest = new Map<string, Entry>();

  constructor(options: SessionOptions = {}) {
    this.ttlMs = options.ttlMs ?? 8 * 60 * 60 * 1000;
    this.#maxSessions = options.maxSessions ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  /** A new session for `identity`; `stillValid` is asked on every use. Returns its id. */
  open(identity: DashboardIdentity, stillValid: () => boolean): string {
    this.#sweep();
    while (this.#byDigest.size >= this.#maxSessions) {
      // Maps iterate in insertion order: the first is the oldest.
      this.#byDigest.delete(this.#byDigest.keys().next().value!);
    }
    const id = randomBytes(32).toString("base64url");
    const createdAt = this.#now();
    this.#byDigest.set(digest(id), { identity, createdAt, expiresAt: createdAt + this.ttlMs, stillValid });
    return id;
  }

  /** The session of `id`, if it exists, has not expired and its token is still good. */
  find(id: string | undefined): DashboardSession | undefined {
    if (!id) return undefined;
    const key = digest(id);
    const entry = this.#byDigest.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.#now() || !entry.stillValid()) {
      this.#byDigest.delete(key);
      return undefined;
    }
    return { identity: entry.identity, createdAt: entry.createdAt, expiresAt: entry.expiresAt };
  }

  /** Ends a session (logout). */
  close(id: string | undefined): void {
    if (id) this.#byDigest.delete(digest(id));
  }

  /** Open sessions (expired ones not yet swept included). */
  get size(): number {
    return this.#byDigest.size;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [key, entry] of this.#byDigest) if (entry.expiresAt <= now) this.#byDigest.delete(key);
  }
}

function digest(id: string): string {
  return createHash("sha256").update(id).digest("hex");
}
