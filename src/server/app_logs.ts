/** Apps' log lines: stored for `logs`, and passed live to those following an app. */
import type { AppLogEntry } from "../wire/proto.ts";
import type { LogRecords } from "../store/log_records.ts";

type Follower = (entry: AppLogEntry) => void;

/** Where every function's output and the server's line per call are written, by app. */
export class AppLogs {
  #records: LogRecords;
  #followers = new Map<string, Set<Follower>>();
  #pruner: ReturnType<typeof setInterval>;
  #commit: () => void;

  /** `commit` writes the store's pending batch now. */
  constructor(records: LogRecords, commit: () => void) {
    this.#records = records;
    this.#commit = commit;
    this.#pruner = setInterval(() => records.prune(), 60_000);
  }

  write(entry: AppLogEntry): void {
    this.#records.append(entry);
    for (const follower of this.#followers.get(entry.app_name) ?? []) follower(entry);
  }

  /** The last `count` lines of an app, including those written a moment ago. */
  tail(appName: string, count: number): AppLogEntry[] {
    this.#commit();
    return this.#records.tail(appName, count);
  }

  /** Passes each new line of an app to `follower` until the returned function is called. */
  follow(appName: string, follower: Follower): () => void {
    let followers = this.#followers.get(appName);
    if (!followers) this.#followers.set(appName, followers = new Set());
    followers.add(follower);
    return () => {
      followers.delete(follower);
      if (followers.size === 0) this.#followers.delete(appName);
    };
  }

  close(): void {
    clearInterval(this.#pruner);
    this.#records.flush();
  }
}
