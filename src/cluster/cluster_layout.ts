/**
 * The names a cluster shares in NATS JetStream: streams, subjects, buckets, consumers and keys.
 * Every node derives them the same way, so nodes agree without talking.
 */
import { createHash } from "node:crypto";

/** The work-queue stream of inputs: one subject per app version and function. */
export const inputStream = "SM_INPUTS";
/** The stream keeping inputs given up on after `max_deliver` deliveries. */
export const deadLetterStream = "SM_DEAD";
/** Outcomes by input key: first write wins. */
export const outputBucket = "sm-outputs";
/** App version metadata, by version hash. */
export const versionBucket = "sm-versions";
/** App versions' files, one object per version hash. */
export const codeStore = "sm-code";
/** Deployments, by app name. */
export const deploymentBucket = "sm-deployments";
/** Secrets (values encrypted), by name. */
export const secretBucket = "sm-secrets";
/** Spawned calls' records, by call id. */
export const callBucket = "sm-calls";
/** Live nodes, by name, refreshed while they live; also the schedule leader's lease. */
export const nodeBucket = "sm-nodes";

/** Core NATS subjects (not stored). */
export const subjects = {
  /** "There are inputs for this function": wakes idle nodes' pullers. */
  work: "sm.work",
  /** Input keys to cancel, wherever they run. */
  cancel: "sm.cancel",
  /** A function's log lines, to the node its caller is connected to. */
  logs: (node: string) => `sm.logs.${node}`,
  /** "Have you applied this revision?": answered by every node once it has. */
  sync: "sm.sync",
  /** Where an input given up on is republished. */
  dead: (functionSubject: string) => `sm.dead.${functionSubject.slice("sm.in.".length)}`,
  /** The advisory JetStream sends when an input reaches max_deliver. */
  maxDeliveries: `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${inputStream}.*`,
};

/** The subject and durable consumer of one function of one app version. */
export interface FunctionQueue {
  version: string;
  functionName: string;
  subject: string;
  consumer: string;
}

/** The queue of one function of one app version. */
export function functionQueue(version: string, functionName: string): FunctionQueue {
  const digest = createHash("sha256").update(`${version}/${functionName}`).digest("hex").slice(0, 24);
  return { version, functionName, subject: `sm.in.${digest}`, consumer: `fn-${digest}` };
}

/** A node name must be one subject token and one KV key token. */
export function checkNodeName(name: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
    throw new Error(`--node-name "${name}" must be 1–64 letters, digits, "_" or "-"`);
  }
  return name;
}

/** A default node name: the host's, made safe, with a random suffix so restarts never collide. */
export function defaultNodeName(): string {
  const host = Deno.hostname().replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 40);
  return `${host}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Milliseconds to the nanoseconds JetStream's settings are in. */
export function nanos(ms: number): number {
  return ms * 1_000_000;
}
