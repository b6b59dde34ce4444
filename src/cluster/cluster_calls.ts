/**
 * Spawned calls on a cluster: each call's record in a key-value bucket, its inputs on the work
 * queue, its outcomes in the output table under `<origin node>.<call id>.<index>`. Any node answers
 * GetCall and CancelCall from those, so `FunctionCall.fromId(id).get()` works through any node, and
 * a call goes on when the node it was spawned through dies.
 */
import { KvWatchInclude } from "@nats-io/kv";
import { Code, StupidModalError } from "../wire/errors.ts";
import type { CallInfo, OutputMessage } from "../wire/proto.ts";
import { type CallOutcome, failed } from "../sandbox/call_outcome.ts";
import {
  newCallRow,
  SpawnedCall,
  SpawnedCalls,
  type StartInput,
  type StoreWrites,
  waitUntilDone,
} from "../server/spawned_calls.ts";
import type { CallRecords, CallRow } from "../store/call_records.ts";
import type { ClusterConnection } from "./nats_connection.ts";
import type { ClusterScheduler } from "./cluster_scheduler.ts";
import type { OutputTable } from "./output_table.ts";
import type { StoredOutcome } from "./input_batch.ts";

/** A call's record as the cluster keeps it. */
export interface ClusterCallRow extends CallRow {
  /** The node it was spawned through: its outcomes are keyed under that name. */
  origin: string;
  /** Inputs so far (all of them once `inputsClosed`). */
  inputs: number;
  finished?: number;
  failed?: number;
  cancelled?: number;
}

interface Parts {
  scheduler: () => ClusterScheduler;
  outputs: OutputTable;
  connection: ClusterConnection;
  node: string;
  /** Writes of records not yet acknowledged. */
  writes: Set<Promise<unknown>>;
}

/** The SpawnedCalls class of a cluster node (bound to it; the constructor is SpawnedCalls'). */
export function clusterCallsClass(
  scheduler: () => ClusterScheduler,
  outputs: OutputTable,
  connection: ClusterConnection,
  node: string,
) {
  const parts: Parts = { scheduler, outputs, connection, node, writes: new Set() };
  return class ClusterCalls extends SpawnedCalls {
    #held = new Map<string, ClusterCall>();
    #rows = new Map<string, ClusterCallRow>();
    #records: CallRecords;
    #start: StartInput;
    #stopWatch: () => void = () => {};

    constructor(
      options: { retentionMs: number; maxQueuedInputs: number },
      records: CallRecords,
      start: StartInput,
      store: StoreWrites,
    ) {
      super(options, records, start, store);
      this.#records = records;
      this.#start = start;
      // Every node keeps every record (small), for ListCalls.
      connection.calls.watch({ include: KvWatchInclude.LastValue }).then((watcher) => {
        this.#stopWatch = () => watcher.stop();
        (async () => {
          for await (const entry of watcher) {
            if (entry.operation === "PUT") this.#rows.set(entry.key, entry.json<ClusterCallRow>());
            else this.#rows.delete(entry.key);
          }
        })();
      });
    }

    override create(
      target: { appName: string; version: string; function: string },
      trigger: "spawn" | "map" | "schedule",
      caller: string,
    ): SpawnedCall {
      const row: ClusterCallRow = { ...newCallRow(target, trigger, caller), origin: node, inputs: 0 };
      const call = new ClusterCall(row, this.#records, this.#start, parts, true);
      call.save();
      this.#held.set(row.id, call);
      call.onFinished = () => this.#held.delete(row.id);
      return call;
    }

    /** Nothing to resume here: unfinished calls' inputs wait on the work queue for any node. */
    override resume(): number {
      return 0;
    }

    /** A call by id, through any node: its state is read from the cluster when waited on. */
    override get(id: string): SpawnedCall {
      const held = this.#held.get(id);
      if (held) return held;
      const known = this.#rows.get(id);
      const row: ClusterCallRow = known ? { ...known } : {
        id,
        appName: "",
        version: "",
        function: "",
        trigger: "",
        caller: "",
        createdAt: 0,
        inputsClosed: false,
        origin: "",
        inputs: 0,
      };
      return new ClusterCall(row, this.#records, this.#start, parts, false);
    }

    override async stored(): Promise<void> {
      await Promise.all([parts.scheduler().sent(), ...parts.writes]);
    }

    override list(appName: string, limit: number): CallInfo[] {
      return [...this.#rows.values()]
        .filter((row) => !appName || row.appName === appName)
        .sort((a, b) => b.createdAt - a.createdAt)
        .slice(0, limit)
        .map((row) => {
          const failedInputs = row.failed ?? 0;
          const state = row.finishedAt === undefined
            ? 0
            : failedInputs === 0
            ? 1
            : failedInputs === row.cancelled
            ? 3
            : 2;
          return {
            call_id: row.id,
            app_name: row.appName,
            version: row.version,
            function: row.function,
            trigger: row.trigger,
            state,
            inputs: row.inputs,
            finished: row.finished ?? 0,
            failed: failedInputs,
            created_at_ms: row.createdAt,
            finished_at_ms: row.finishedAt ?? 0,
            caller: row.caller,
          };
        });
    }

    override close(): void {
      super.close();
      this.#stopWatch();
    }
  };
}

/** One spawned call or batch, as a cluster node handles it. */
export class ClusterCall extends SpawnedCall {
  #parts: Parts;
  /** Spawned through this node, which sends its inputs and records its outcomes as they come. */
  #local: boolean;
  #changed = Promise.withResolvers<void>();
  onFinished: () => void = () => {};

  constructor(row: ClusterCallRow, records: CallRecords, start: StartInput, parts: Parts, local: boolean) {
    super(row, 1, records, start);
    this.#parts = parts;
    this.#local = local;
  }

  get #row(): ClusterCallRow {
    return this.row as ClusterCallRow;
  }

  override get done(): boolean {
    return this.row.inputsClosed && this.finished === this.#row.inputs;
  }

  /** Writes the record as it now is. */
  save(): void {
    const written = this.#parts.connection.calls.put(this.id, JSON.stringify(this.row))
      .finally(() => this.#parts.writes.delete(written));
    this.#parts.writes.add(written);
  }

  override add(args: Uint8Array, onDone?: () => void): void {
    const index = this.#row.inputs++;
    this.outputs[index] = undefined;
    const scheduler = this.#parts.scheduler();
    const app = scheduler.appOf(this.row.version);
    const key = `${this.#row.origin}.${this.id}.${index}`;
    scheduler.send(app, this.row.function, {
      key,
      args,
      trigger: this.row.trigger as "spawn" | "map" | "schedule",
      caller: this.row.caller,
    }).then((outcome) => {
      // Made up by this node as it stopped: the input is still queued for another node.
      if (scheduler.closing && outcome.failure?.code === Code.UNAVAILABLE) return;
      if ((outcome as StoredOutcome).node === "") this.#parts.outputs.write(key, outcome).catch(() => {});
      this.#record(index, outcome);
      onDone?.();
    });
  }

  override closeInputs(): void {
    this.row.inputsClosed = true;
    this.save();
    this.#checkDone();
  }

  override async wait(timeoutMs: number): Promise<void> {
    if (!this.#local) {
      await this.#load(timeoutMs);
      return;
    }
    await waitUntilDone(() => this.done, () => this.#changed.promise, timeoutMs);
  }

  override cancel(): void {
    this.#cancel().catch(() => {});
  }

  async #cancel(): Promise<void> {
    if (!this.#local) await this.#load(0);
    const open: string[] = [];
    for (let index = 0; index < this.#row.inputs; index++) {
      if (!this.outputs[index]) open.push(`${this.#row.origin}.${this.id}.${index}`);
    }
    const cancelled = failed(Code.CANCELLED, "cancelled");
    await Promise.all(open.map((key) => this.#parts.outputs.write(key, cancelled)));
    this.#parts.scheduler().cancelKeys(open);
  }

  /** Reads the record and outcomes from the cluster, waiting up to `timeoutMs` for the call to finish. */
  async #load(timeoutMs: number): Promise<void> {
    const entry = await this.#parts.connection.calls.get(this.id);
    if (!entry || entry.operation !== "PUT") {
      throw new StupidModalError(Code.NOT_FOUND, `no spawned call ${this.id} (unknown, or past its retention)`);
    }
    Object.assign(this.row, entry.json<ClusterCallRow>());
    const prefix = `${this.#row.origin}.${this.id}`;
    const take = (key: string, outcome: StoredOutcome) => {
      const index = Number(key.slice(prefix.length + 1));
      if (this.outputs[index]) return;
      this.outputs[index] = toOutput(index, outcome);
      this.finished++;
      if (this.done) this.#changed.resolve();
    };
    for (const [key, outcome] of await this.#parts.outputs.readAll(prefix)) take(key, outcome);
    for (let index = 0; index < this.#row.inputs; index++) this.outputs[index] ??= undefined;
    if (this.done || timeoutMs <= 0) return;
    const stop = await this.#parts.outputs.watch(prefix, take, true);
    await waitUntilDone(() => this.done, () => this.#changed.promise, timeoutMs);
    stop();
  }

  #record(index: number, outcome: CallOutcome): void {
    if (this.outputs[index]) return;
    this.outputs[index] = toOutput(index, outcome);
    this.finished++;
    if (outcome.failure) {
      this.#row.failed = (this.#row.failed ?? 0) + 1;
      if (outcome.failure.code === Code.CANCELLED) this.#row.cancelled = (this.#row.cancelled ?? 0) + 1;
    }
    this.#checkDone();
  }

  #checkDone(): void {
    if (this.done && this.row.finishedAt === undefined) {
      this.row.finishedAt = Date.now();
      this.#row.finished = this.finished;
      this.save();
      this.onFinished();
    }
    this.#changed.resolve();
    this.#changed = Promise.withResolvers<void>();
  }
}

function toOutput(index: number, outcome: CallOutcome): OutputMessage {
  return outcome.failure ? { call_id: index, failure: outcome.failure } : { call_id: index, value: outcome.value };
}
