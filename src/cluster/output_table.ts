/**
 * Outcomes by input key in a JetStream key-value bucket. The first write of a key wins: a second
 * (an input run again after a redelivery) is refused by the server and dropped, so every input has
 * one outcome, whichever node ran it and however often.
 */
import { type KV, KvWatchInclude } from "@nats-io/kv";
import type { CallOutcome } from "../sandbox/call_outcome.ts";
import { decodeOutcome, encodeOutcome, type StoredOutcome } from "./input_batch.ts";

/** The shared table of outcomes. */
export class OutputTable {
  #kv: KV;
  #node: string;
  /** Outcomes this node computed but found already written by another. */
  duplicates = 0;

  constructor(kv: KV, node: string) {
    this.#kv = kv;
    this.#node = node;
  }

  /** Writes an outcome unless the key has one; resolves true when this write was the first. */
  async write(key: string, outcome: CallOutcome): Promise<boolean> {
    try {
      await this.#kv.create(key, encodeOutcome(outcome, this.#node));
      return true;
    } catch (err) {
      if (!/wrong last sequence|key exists/i.test((err as Error).message)) throw err;
      this.duplicates++;
      return false;
    }
  }

  /** The outcome of a key, if written. */
  async read(key: string): Promise<StoredOutcome | undefined> {
    const entry = await this.#kv.get(key);
    return entry && entry.operation === "PUT" ? decodeOutcome(entry.value) : undefined;
  }

  /** Every outcome whose key starts with `prefix.`, by key. */
  async readAll(prefix: string): Promise<Map<string, StoredOutcome>> {
    const found = new Map<string, StoredOutcome>();
    const keys = await Array.fromAsync(await this.#kv.keys(`${prefix}.>`));
    await Promise.all(keys.map(async (key) => {
      const outcome = await this.read(key);
      if (outcome) found.set(key, outcome);
    }));
    return found;
  }

  /**
   * Calls `onOutcome` for every outcome written under `prefix.` from now on (or, with `existing`,
   * those already there first); returns a function that stops watching.
   */
  async watch(
    prefix: string,
    onOutcome: (key: string, outcome: StoredOutcome) => void,
    existing = false,
  ): Promise<() => void> {
    const watcher = await this.#kv.watch({
      key: `${prefix}.>`,
      include: existing ? KvWatchInclude.LastValue : KvWatchInclude.UpdatesOnly,
      ignoreDeletes: true,
    });
    (async () => {
      for await (const entry of watcher) {
        if (entry.operation !== "PUT") continue;
        onOutcome(entry.key, decodeOutcome(entry.value));
      }
    })().catch(() => {});
    return () => watcher.stop();
  }
}
