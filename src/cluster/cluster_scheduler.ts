/**
 * The scheduler of a cluster node. Calls that come in here go on the work-queue stream and their
 * outcomes come back through the output table, whichever node ran them; meanwhile this node pulls
 * inputs of any function, as its free executor slots allow, runs them on its own executor pools
 * (the Scheduler it extends), writes their outcomes and acknowledges them. Generators run on the
 * node their caller is connected to: their items stream with backpressure, which a queue would lose.
 */
import type { JsMsg } from "@nats-io/jetstream";
import type { Subscription } from "@nats-io/transport-node";
import { Code, StupidModalError } from "../wire/errors.ts";
import { decodeValue, encodeValue } from "../wire/codec.ts";
import { type CallOutcome, failed } from "../sandbox/call_outcome.ts";
import type { ExecutorLogLine } from "../sandbox/executor_messages.ts";
import type { PoolCall } from "../sandbox/executor_pool.ts";
import { type AppVersion, requireFunction } from "../server/app_store.ts";
import { rootIdentity } from "../server/auth.ts";
import { Scheduler, type SchedulerSettings, type SubmitOptions } from "../server/scheduler.ts";
import type { FunctionSpec } from "../wire/proto.ts";
import type { ClusterConnection } from "./nats_connection.ts";
import { functionQueue, inputStream, subjects } from "./cluster_layout.ts";
import { type ClusterInput, decodeLines, encodeLines, type InputBatch, type RelayedLine } from "./input_batch.ts";
import { type DeliverySettings, InputStream } from "./input_stream.ts";
import { InputPuller } from "./input_puller.ts";
import type { OutputTable } from "./output_table.ts";
import type { StoredOutcome } from "./input_batch.ts";
import { type Bytes, wholeBytes } from "../wire/value_chunks.ts";

/** What the cluster scheduler works with besides the local scheduler's settings. */
export interface ClusterParts {
  connection: ClusterConnection;
  node: string;
  outputs: OutputTable;
  delivery: DeliverySettings;
  /** Inputs per work-queue message; 0 for one node's executor slots of the function. */
  batchSize: number;
  /** A version ready to run on this node (its files fetched from the cluster if need be). */
  ensureLocal(version: string): Promise<AppVersion>;
  /** A version this node knows of, ready or not. */
  known(version: string): AppVersion | undefined;
}

/** An input sent from here whose outcome this node waits for. */
interface Waiting {
  settle: (outcome: StoredOutcome) => void;
  onLog?: (line: ExecutorLogLine) => void;
}

/** How long a cancelled input's key is remembered, so a node that takes it later skips it. */
const cancelMemoryMs = 10 * 60_000;

/** Runs calls anywhere in the cluster. */
export class ClusterScheduler extends Scheduler {
  #settings: SchedulerSettings;
  #parts: ClusterParts;
  #stream: InputStream;
  #waiting = new Map<string, Waiting>();
  /** Inputs running on this node, by key, for cancels. */
  #running = new Map<string, PoolCall>();
  #cancelled = new Map<string, number>();
  #pullers = new Map<string, InputPuller>();
  #pullersStarting = new Map<string, Promise<void>>();
  #relay = new Map<string, RelayedLine[]>();
  #relayQueued = false;
  #subscriptions: Subscription[] = [];
  #stopWatch: () => void = () => {};
  #scanTimer: ReturnType<typeof setInterval> | undefined;
  #nextId = 1;
  #draining = false;
  #closing = false;

  constructor(settings: SchedulerSettings, parts: ClusterParts) {
    super(settings);
    this.#settings = settings;
    this.#parts = parts;
    this.#stream = new InputStream(parts.connection, parts.delivery);
  }

  /** The node's name. */
  get node(): string {
    return this.#parts.node;
  }

  /** Starts following outcomes, log lines, cancels and announcements of work; looks for work. */
  async start(): Promise<void> {
    const { connection, node, outputs } = this.#parts;
    this.#stopWatch = await outputs.watch(node, (key, outcome) => this.#arrived(key, outcome));
    const nc = connection.nc;
    const follow = (subject: string, handle: (data: Uint8Array) => void) => {
      const subscription = nc.subscribe(subject);
      this.#subscriptions.push(subscription);
      (async () => {
        for await (const message of subscription) {
          try {
            handle(message.data);
          } catch (err) {
            this.#settings.log(`cluster: bad message on ${subject}: ${(err as Error).message}`);
          }
        }
      })();
    };
    follow(subjects.logs(node), (data) => {
      for (const line of decodeLines(data)) this.#waiting.get(line.key)?.onLog?.(line);
    });
    follow(subjects.cancel, (data) => {
      for (const key of decodeValue(data, "cancelled keys") as string[]) this.#cancelHere(key);
    });
    follow(subjects.work, (data) => {
      const [version, functionName] = new TextDecoder().decode(data).split("/");
      this.#pull(version, functionName);
    });
    await this.#scan();
    this.#scanTimer = setInterval(() => this.#scan().catch(() => {}), 5_000);
  }

  /** Sends a call to the cluster; generators run here. */
  override submit(app: AppVersion, functionName: string, args: Bytes, options: SubmitOptions = {}): PoolCall {
    const spec = requireFunction(app, functionName);
    if (spec.is_generator || options.relayed) {
      return super.submit(app, functionName, args, options);
    }
    if (this.#closing) throw new StupidModalError(Code.UNAVAILABLE, "the server is shutting down");
    this.checkCall(spec, args, options);
    // Refuses a call whose secret is missing here, before it goes to another node.
    if ((spec.secrets ?? []).length > 0) this.#settings.secrets.envFor(spec.name, spec.secrets!);
    const key = `${this.#parts.node}.s${this.#nextId++}`;
    const { who, trigger, watched, release } = this.admit(app, functionName, args, options, options.label ?? key);
    const input: ClusterInput = {
      key,
      args: wholeBytes(args),
      method: spec.is_class ? options.classCall?.method : undefined,
      params: spec.is_class ? options.classCall?.params : undefined,
      trigger,
      caller: who.name,
    };
    const outcome = this.send(app, functionName, input, options.onLog).then((outcome) => {
      this.#settings.monitor.finished(watched, outcome, 1);
      release?.();
      return outcome;
    });
    return {
      outcome,
      cancel: () => this.cancelKeys([key]),
      credit: () => {},
    };
  }

  /** Puts one input on the work queue; resolves with its outcome, from whichever node runs it. */
  send(
    app: AppVersion,
    functionName: string,
    input: ClusterInput,
    onLog?: (line: ExecutorLogLine) => void,
  ): Promise<CallOutcome> {
    if (this.#closing) return Promise.resolve(failed(Code.UNAVAILABLE, "the server is shutting down"));
    const settled = Promise.withResolvers<StoredOutcome>();
    this.#waiting.set(input.key, { settle: settled.resolve, onLog });
    this.#stream.send(
      { origin: this.#parts.node, app: app.name, version: app.version, functionName },
      input,
      this.#perMessage(app.functions.get(functionName)!),
      (err) =>
        this.#arrived(input.key, { ...failed(Code.UNAVAILABLE, `NATS refused the input: ${err.message}`), node: "" }),
    );
    return settled.promise;
  }

  /** A version this node knows (from the cluster's records); NOT_FOUND otherwise. */
  appOf(version: string): AppVersion {
    const app = this.#parts.known(version);
    if (!app) throw new StupidModalError(Code.NOT_FOUND, `no app version ${version} is registered`);
    return app;
  }

  /** Resolves once every input sent so far is stored by JetStream. */
  sent(): Promise<void> {
    return this.#stream.stored();
  }

  /** True once the node is shutting down: outcomes made up here then are not the inputs' own. */
  get closing(): boolean {
    return this.#closing;
  }

  /** Cancels inputs wherever they are: those waited for here end CANCELLED at once. */
  cancelKeys(keys: string[]): void {
    for (const key of keys) this.#arrived(key, { ...failed(Code.CANCELLED, "cancelled"), node: "" });
    this.#parts.connection.nc.publish(subjects.cancel, encodeValue(keys));
  }

  /** Takes no more inputs from the cluster; resolves once those held are done and acknowledged. */
  async drain(): Promise<void> {
    this.#draining = true;
    clearInterval(this.#scanTimer);
    for (const puller of this.#pullers.values()) puller.stop();
    await Promise.all([...this.#pullers.values()].map((puller) => puller.settled()));
  }

  /** Inputs held from the cluster now, by function name (for tests and the operator). */
  held(): number {
    let held = 0;
    for (const puller of this.#pullers.values()) held += puller.held;
    return held;
  }

  override async close(reason: CallOutcome): Promise<void> {
    this.#closing = true;
    this.#draining = true;
    clearInterval(this.#scanTimer);
    for (const puller of this.#pullers.values()) puller.stop();
    // Inputs still running fail with `reason`: they are handed back, for another node.
    await super.close(reason);
    await Promise.all([...this.#pullers.values()].map((puller) => puller.settled()));
    for (const key of [...this.#waiting.keys()]) this.#arrived(key, { ...reason, node: "" });
    this.#stopWatch();
    for (const subscription of this.#subscriptions) subscription.unsubscribe();
  }

  /** Executor slots of one function on one node: executors times inputs each. */
  #slots(spec: FunctionSpec): number {
    const executors = Math.min(
      spec.max_workers || this.#settings.maxExecutorsPerFunction,
      this.#settings.maxExecutors,
    );
    return executors * (spec.max_inputs || 1);
  }

  #perMessage(spec: FunctionSpec): number {
    return Math.max(1, Math.min(this.#parts.batchSize || this.#slots(spec), 256));
  }

  #arrived(key: string, outcome: StoredOutcome): void {
    const waiting = this.#waiting.get(key);
    if (!waiting) return;
    this.#waiting.delete(key);
    waiting.settle(outcome);
  }

  #cancelHere(key: string): void {
    const now = Date.now();
    this.#cancelled.set(key, now);
    this.#running.get(key)?.cancel();
    if (this.#cancelled.size > 100_000) {
      for (const [old, at] of this.#cancelled) {
        if (at > now - cancelMemoryMs && this.#cancelled.size <= 50_000) break;
        this.#cancelled.delete(old);
      }
    }
  }

  /** Looks for functions with inputs waiting or unacknowledged, and pulls them. */
  async #scan(): Promise<void> {
    if (this.#draining) return;
    for await (const info of this.#parts.connection.jsm.consumers.list(inputStream)) {
      if (info.num_pending + info.num_ack_pending === 0 || !info.config.description) continue;
      const [version, functionName] = info.config.description.split("/");
      this.#pull(version, functionName);
    }
  }

  /** Starts pulling a function's inputs, unless already pulling them. */
  #pull(version: string, functionName: string): void {
    if (this.#draining) return;
    const queue = functionQueue(version, functionName);
    if (this.#pullers.has(queue.consumer) || this.#pullersStarting.has(queue.consumer)) return;
    const starting = (async () => {
      const app = await this.#parts.ensureLocal(version);
      const spec = requireFunction(app, functionName);
      if (this.#draining) return;
      const puller = new InputPuller(this.#parts.connection, queue, {
        free: (held) => this.#slots(spec) - held,
        perMessage: this.#perMessage(spec),
        run: (message, batch, finished) => this.#run(app, message, batch, finished),
        log: this.#settings.log,
      });
      this.#pullers.set(queue.consumer, puller);
      puller.ended.then(() => {
        if (this.#pullers.get(queue.consumer) === puller && !this.#draining) this.#pullers.delete(queue.consumer);
      });
    })().catch((err) => {
      this.#settings.log(`cluster: cannot run ${functionName} of version ${version.slice(0, 12)}: ${err.message}`);
    }).finally(() => this.#pullersStarting.delete(queue.consumer));
    this.#pullersStarting.set(queue.consumer, starting);
  }

  /** Runs one message's inputs here, writes their outcomes, acknowledges it. */
  async #run(app: AppVersion, message: JsMsg, batch: InputBatch, finished: () => void): Promise<void> {
    let inputs = batch.inputs.filter((input) => !this.#cancelled.has(input.key));
    if (message.redelivered) {
      // Another node may have finished some before it stopped answering.
      const done = await Promise.all(inputs.map((input) => this.#parts.outputs.read(input.key)));
      inputs = inputs.filter((_, i) => !done[i]);
    }
    const heartbeat = setInterval(() => message.working(), Math.max(100, this.#parts.delivery.ackWaitMs / 3));
    let handBack = false;
    let duplicates = 0;
    try {
      await Promise.all(inputs.map(async (input) => {
        let call: PoolCall;
        try {
          call = super.submit(app, batch.functionName, input.args, {
            label: input.key,
            trigger: input.trigger,
            identity: { ...rootIdentity, name: input.caller },
            relayed: true,
            classCall: input.method ? { method: input.method, params: input.params } : undefined,
            onLog: (line) => this.#relayLine(batch.origin, input.key, line),
          });
        } catch (err) {
          if (this.#closing) {
            handBack = true;
            return;
          }
          const error = StupidModalError.from(err);
          call = { outcome: Promise.resolve(failed(error.code, error.message)), cancel() {}, credit() {} };
        }
        this.#running.set(input.key, call);
        const outcome = await call.outcome;
        this.#running.delete(input.key);
        finished();
        if (this.#closing && outcome.failure?.code === Code.UNAVAILABLE) {
          handBack = true;
          return;
        }
        if (!await this.#parts.outputs.write(input.key, outcome)) duplicates++;
      }));
    } finally {
      clearInterval(heartbeat);
    }
    if (duplicates > 0) {
      this.#settings.log(
        `cluster: dropped ${duplicates} duplicate outcome${duplicates === 1 ? "" : "s"} of ${app.name}.` +
          `${batch.functionName} (another node had written ${duplicates === 1 ? "it" : "them"} first)`,
      );
    }
    if (handBack) message.nak();
    else message.ack();
  }

  #relayLine(origin: string, key: string, line: ExecutorLogLine): void {
    if (origin === this.#parts.node) {
      this.#waiting.get(key)?.onLog?.(line);
      return;
    }
    let lines = this.#relay.get(origin);
    if (!lines) this.#relay.set(origin, lines = []);
    lines.push({ key, stream: line.stream, text: line.text });
    if (this.#relayQueued) return;
    this.#relayQueued = true;
    setTimeout(() => {
      this.#relayQueued = false;
      for (const [to, batch] of this.#relay) this.#parts.connection.nc.publish(subjects.logs(to), encodeLines(batch));
      this.#relay.clear();
    }, 0);
  }
}
