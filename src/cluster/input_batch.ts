/**
 * What nodes send each other, as CBOR: a batch of inputs of one function (one work-queue message),
 * an input's stored outcome (tagged with the node that ran it), and relayed log lines.
 */
import { decodeValue, encodeValue } from "../wire/codec.ts";
import type { CallOutcome } from "../sandbox/call_outcome.ts";
import type { CallTrigger } from "../server/call_monitor.ts";

/** One input: its key in the output table, and what the call carries. */
export interface ClusterInput {
  /** `<origin node>.<id>`: where its outcome is written. */
  key: string;
  args: Uint8Array;
  /** For a class: the method, and the instance's constructor parameters (CBOR). */
  method?: string;
  params?: Uint8Array;
  trigger: CallTrigger;
  /** The name of the caller's token. */
  caller: string;
}

/** One work-queue message: inputs of one function of one app version. */
export interface InputBatch {
  /** The node the calls came in through (log lines go there). */
  origin: string;
  app: string;
  version: string;
  functionName: string;
  inputs: ClusterInput[];
}

/** An outcome as the output table holds it. */
export type StoredOutcome = CallOutcome & { node: string };

/** One relayed log line of an input. */
export interface RelayedLine {
  key: string;
  stream: 0 | 1;
  text: string;
}

export function encodeBatch(batch: InputBatch): Uint8Array {
  return encodeValue(batch);
}

export function decodeBatch(bytes: Uint8Array): InputBatch {
  return decodeValue(bytes, "an input batch") as InputBatch;
}

export function encodeOutcome(outcome: CallOutcome, node: string): Uint8Array {
  return encodeValue(outcome.failure ? { failure: outcome.failure, node } : { value: outcome.value, node });
}

export function decodeOutcome(bytes: Uint8Array): StoredOutcome {
  return decodeValue(bytes, "a stored outcome") as StoredOutcome;
}

export function encodeLines(lines: RelayedLine[]): Uint8Array {
  return encodeValue(lines);
}

export function decodeLines(bytes: Uint8Array): RelayedLine[] {
  return decodeValue(bytes, "relayed log lines") as RelayedLine[];
}
