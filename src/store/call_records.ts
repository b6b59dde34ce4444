/** Spawned calls (single, batch, scheduled) with their inputs and outcomes, as rows of the store. */
import { decodeValue, encodeValue } from "../wire/codec.ts";
import type { CallInfo, CallState, OutputMessage } from "../wire/proto.ts";
import type { Database } from "./database.ts";

/** What a call is and where it runs. */
export interface CallRow {
  id: string;
  appName: string;
  version: string;
  function: string;
  /** "spawn", "map" or "schedule". */
  trigger: string;
  /** The name of the token that made the call. */
  caller: string;
  createdAt: number;
  finishedAt?: number;
  inputsClosed: boolean;
}

/** A stored input: its arguments, and its outcome once it has one. */
export interface InputRow {
  index: number;
  args: Uint8Array;
  output?: OutputMessage;
}

const CANCELLED = 1;

/** Reads and writes spawned calls. Writes are deferred to the store's next batch. */
export class CallRecords {
  #database: Database;
  #frozen = false;

  constructor(database: Database) {
    this.#database = database;
  }

  create(row: CallRow): void {
    this.#database.defer(() =>
      this.#database.statement(
        "INSERT INTO calls (id, app_name, version, function, trigger, caller, created_at, inputs_closed) VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
      ).run(row.id, row.appName, row.version, row.function, row.trigger, row.caller, row.createdAt)
    );
  }

  addInput(callId: string, index: number, args: Uint8Array): void {
    this.#database.defer(() =>
      this.#database.statement("INSERT INTO call_inputs (call_id, idx, args) VALUES (?, ?, ?)").run(
        callId,
        index,
        args,
      )
    );
  }

  /**
   * Records nothing more of outcomes: at shutdown, calls failed for that reason stay unfinished
   * in the store, to run again at the next start.
   */
  freeze(): void {
    this.#frozen = true;
  }

  recordOutcome(callId: string, output: OutputMessage): void {
    if (this.#frozen) return;
    const stored = encodeValue(output.failure ? { failure: output.failure } : { value: output.value });
    this.#database.defer(() =>
      this.#database.statement("UPDATE call_inputs SET outcome = ?, failed = ? WHERE call_id = ? AND idx = ?")
        .run(stored, output.failure?.code ?? null, callId, output.call_id)
    );
  }

  closeInputs(callId: string): void {
    this.#database.defer(() => this.#database.statement("UPDATE calls SET inputs_closed = 1 WHERE id = ?").run(callId));
  }

  finish(callId: string, at: number): void {
    if (this.#frozen) return;
    this.#database.defer(() =>
      this.#database.statement("UPDATE calls SET finished_at = ? WHERE id = ?").run(at, callId)
    );
  }

  /** One call, if stored. */
  get(callId: string): CallRow | undefined {
    const row = this.#database.statement("SELECT * FROM calls WHERE id = ?").get(callId);
    return row ? toCallRow(row) : undefined;
  }

  /** The inputs of one call, in order. */
  inputs(callId: string): InputRow[] {
    const rows = this.#database.db.prepare("SELECT idx, args, outcome FROM call_inputs WHERE call_id = ? ORDER BY idx")
      .all(callId);
    return rows.map((row) => ({
      index: row.idx as number,
      args: row.args as Uint8Array,
      output: row.outcome ? toOutput(row.idx as number, row.outcome as Uint8Array) : undefined,
    }));
  }

  /** Calls that had not finished when the server stopped. */
  unfinished(): CallRow[] {
    return this.#database.db.prepare("SELECT * FROM calls WHERE finished_at IS NULL ORDER BY created_at").all()
      .map(toCallRow);
  }

  /** Calls, newest first, with their progress. */
  list(appName: string, limit: number): CallInfo[] {
    const rows = this.#database.db.prepare(
      `SELECT c.*, COUNT(i.idx) AS inputs, COUNT(i.outcome) AS finished, COUNT(i.failed) AS failed,
         SUM(i.failed = ${CANCELLED}) AS cancelled
       FROM calls c LEFT JOIN call_inputs i ON i.call_id = c.id
       WHERE ? = '' OR c.app_name = ? GROUP BY c.id ORDER BY c.created_at DESC LIMIT ?`,
    ).all(appName, appName, limit);
    return rows.map((row) => {
      const failed = row.failed as number;
      const state: CallState = row.finished_at === null ? 0 : failed === 0 ? 1 : failed === row.cancelled ? 3 : 2;
      return {
        call_id: row.id as string,
        app_name: row.app_name as string,
        version: row.version as string,
        function: row.function as string,
        trigger: row.trigger as string,
        state,
        inputs: row.inputs as number,
        finished: row.finished as number,
        failed,
        created_at_ms: row.created_at as number,
        finished_at_ms: (row.finished_at as number | null) ?? 0,
        caller: row.caller as string,
      };
    });
  }

  /** Forgets calls that finished before `horizon`. */
  deleteFinishedBefore(horizon: number): void {
    this.#database.defer(() => {
      const db = this.#database.db;
      db.prepare("DELETE FROM call_inputs WHERE call_id IN (SELECT id FROM calls WHERE finished_at < ?)").run(horizon);
      db.prepare("DELETE FROM calls WHERE finished_at < ?").run(horizon);
    });
  }
}

function toCallRow(row: Record<string, unknown>): CallRow {
  return {
    id: row.id as string,
    appName: row.app_name as string,
    version: row.version as string,
    function: row.function as string,
    trigger: row.trigger as string,
    caller: row.caller as string,
    createdAt: row.created_at as number,
    finishedAt: (row.finished_at as number | null) ?? undefined,
    inputsClosed: row.inputs_closed === 1,
  };
}

function toOutput(index: number, stored: Uint8Array): OutputMessage {
  const outcome = decodeValue(stored, "a stored outcome") as Pick<OutputMessage, "value" | "failure">;
  return outcome.failure ? { call_id: index, failure: outcome.failure } : { call_id: index, value: outcome.value };
}
