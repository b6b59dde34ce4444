/** The server's settings, parsed from its command line, with `--help` documenting every flag. */
import { parseArgs } from "node:util";

/** Everything the server can be told. */
export interface ServerConfig {
  host: string;
  port: number;
  /** The web endpoints' HTTP port on the same host, 0 for any free one; unset serves none. */
  webPort?: number;
  dataDir: string;
  /** The bearer token; from STUPID_MODAL_TOKEN, or generated when unset. */
  token?: string;
  grantRead: string[];
  grantWrite: string[];
  grantNet: string[];
  grantEnv: string[];
  npmAllow: string[];
  maxPayloadBytes: number;
  maxExecutors: number;
  maxMemoryMb: number;
  maxExecutorsPerFunction: number;
  maxQueuedInputs: number;
  defaultTimeoutMs: number;
  defaultMemoryMb: number;
  maxTimeoutMs: number;
  maxFunctionMemoryMb: number;
  scaledownMs: number;
  graceMs: number;
  retentionMs: number;
  /** Whether the server and the executor serving calls one at a time share a CPU (where possible). */
  cpuPlacement: boolean;
  insecure: boolean;
  /** PEM files of the server's TLS certificate chain and key; unset serves plaintext (loopback only). */
  tlsCert?: string;
  tlsKey?: string;
  /** PEM file of the CA whose client certificates the server requires; unset requires none. */
  tlsClientCa?: string;
  /** NATS server(s) of the cluster this server is a node of; unset runs alone. */
  nats?: string;
  /** This node's name in the cluster (unique among live nodes). */
  nodeName?: string;
  /** How long a node may hold an input without acknowledging it or heartbeating. */
  clusterAckWaitMs: number;
  /** Deliveries of one input before it goes to the dead-letter subject. */
  clusterMaxDeliver: number;
  /** Inputs per work-queue message; 0 for one node's executor slots of the function. */
  clusterBatch: number;
}

/** The text of `--help`. */
export const helpText = `Stupid Modal server: runs registered TypeScript functions in sandboxed executors.

Usage: deno task server [flags]

Listening
  --host HOST                  address to listen on (default 127.0.0.1)
  --port PORT                  port, 0 for any free one (default 50051)
  --web-port PORT|off          HTTP port of web endpoints on the same host, 0 for any free one (printed at
                               start); off serves none (default 0)
  --tls-cert FILE              PEM certificate chain: serve gRPC and the web port over TLS
  --tls-key FILE               PEM private key of --tls-cert
  --tls-client-ca FILE         PEM CA: require gRPC callers to present a certificate it signed
  --insecure                   allow a non-loopback --host without TLS (plaintext; logged loudly)

Data and authentication
  --data-dir DIR               where app versions and the generated token live (default .stupid-modal)
                               The token is STUPID_MODAL_TOKEN if set; otherwise one is generated,
                               written to DIR/token (owner-only) and printed once.

Grants: the ceiling of what functions may ask for (none by default; repeat or comma-separate)
  --grant-read PATH            let functions ask to read PATH
  --grant-write PATH           let functions ask to write PATH
  --grant-net HOST[:PORT]      let functions ask to connect to HOST
  --grant-env NAME             let functions ask to read the server's variable NAME (NAME* for a prefix)
  --npm-allow PACKAGE          let functions import the npm package PACKAGE (none by default)
  The server's own data directory and code are never grantable.

Limits
  --max-payload-mb N           largest arguments or result of one call (default 64)
  --max-executors N            executor processes alive at once, all functions together (default 16)
  --max-memory-mb N            executors' heaps together, at most (default: three quarters of this machine's memory)
  --max-queued-inputs N        inputs that may wait for one function's executors; more is RESOURCE_EXHAUSTED
                               (default 10000)
  --max-executors-per-function N  executors of one function at once (default 4)
  --default-timeout-ms N       a call's time limit when its function sets none (default 300000)
  --default-memory-mb N        an executor's heap limit when its function sets none (default 512)
  --max-timeout-ms N           the largest timeoutMs a function may set (default 86400000, one day)
  --max-function-memory-mb N   the largest memoryMb a function may set (default 4096)
  --scaledown-ms N             idle time before a warm executor stops (default 60000)
  --grace-ms N                 on SIGINT/SIGTERM, how long in-flight calls may finish (default 10000)
  --retention-ms N             how long a spawned call's outcome is kept after it finishes (default 86400000, one day)
  --cpu-placement auto|off     auto: while calls come one at a time, the server and the executor running them
                               keep to one CPU (a hand-over within a CPU is a context switch, not a wake-up of
                               another CPU); Linux, needs --allow-ffi, otherwise off (default auto)

Cluster (see README, "Running a cluster")
  --nats URL                   be a node of the cluster on this NATS server with JetStream (nats://HOST:PORT,
                               comma-separate several); every node needs the same STUPID_MODAL_TOKEN
  --node-name NAME             this node's name, unique among live nodes (default: host name and a random suffix)
  --cluster-ack-wait-ms N      how long a node may hold an input without acknowledging it or saying it still
                               works on it, before it goes to another node (default 30000)
  --cluster-max-deliver N      deliveries of one input before it is given up on and moved to the dead-letter
                               subject sm.dead.<function> (default 5)
  --cluster-batch N            inputs per work-queue message; 0 for one node's executor slots of the function
                               (default 0)

  --help                       show this text
`;

/** Parses the command line; throws with a clear message on a bad flag or value. */
export function parseServerArgs(args: string[], env: { token?: string } = {}): ServerConfig | "help" {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "50051" },
      "web-port": { type: "string", default: "0" },
      "data-dir": { type: "string", default: ".stupid-modal" },
      "grant-read": { type: "string", multiple: true, default: [] },
      "grant-write": { type: "string", multiple: true, default: [] },
      "grant-net": { type: "string", multiple: true, default: [] },
      "grant-env": { type: "string", multiple: true, default: [] },
      "npm-allow": { type: "string", multiple: true, default: [] },
      "max-payload-mb": { type: "string", default: "64" },
      "max-executors": { type: "string", default: "16" },
      "max-memory-mb": { type: "string" },
      "max-queued-inputs": { type: "string", default: "10000" },
      "max-executors-per-function": { type: "string", default: "4" },
      "default-timeout-ms": { type: "string", default: "300000" },
      "default-memory-mb": { type: "string", default: "512" },
      "max-timeout-ms": { type: "string", default: "86400000" },
      "max-function-memory-mb": { type: "string", default: "4096" },
      "scaledown-ms": { type: "string", default: "60000" },
      "grace-ms": { type: "string", default: "10000" },
      "retention-ms": { type: "string", default: "86400000" },
      "cpu-placement": { type: "string", default: "auto" },
      insecure: { type: "boolean", default: false },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "tls-client-ca": { type: "string" },
      nats: { type: "string" },
      "node-name": { type: "string" },
      "cluster-ack-wait-ms": { type: "string", default: "30000" },
      "cluster-max-deliver": { type: "string", default: "5" },
      "cluster-batch": { type: "string", default: "0" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return "help";
  const list = (entries: string[]) => entries.flatMap((entry) => entry.split(",")).map((s) => s.trim()).filter(Boolean);
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) {
    throw new Error("--tls-cert and --tls-key go together");
  }
  if (values["tls-client-ca"] !== undefined && values["tls-cert"] === undefined) {
    throw new Error("--tls-client-ca needs --tls-cert and --tls-key");
  }
  if (values["cpu-placement"] !== "auto" && values["cpu-placement"] !== "off") {
    throw new Error(`--cpu-placement must be auto or off, got "${values["cpu-placement"]}"`);
  }
  const number = (
    flag: Exclude<
      keyof typeof values,
      "help" | "insecure" | "tls-cert" | "tls-key" | "tls-client-ca" | "nats" | "node-name" | "cpu-placement"
    >,
    min: number,
  ) => {
    const value = Number(values[flag]);
    if (!Number.isInteger(value) || value < min) {
      throw new Error(`--${flag} must be an integer ≥ ${min}, got "${values[flag]}"`);
    }
    return value;
  };
  return {
    host: values.host,
    port: number("port", 0),
    webPort: values["web-port"] === "off" ? undefined : number("web-port", 0),
    dataDir: values["data-dir"],
    token: env.token || undefined,
    grantRead: list(values["grant-read"]),
    grantWrite: list(values["grant-write"]),
    grantNet: list(values["grant-net"]),
    grantEnv: list(values["grant-env"]),
    npmAllow: list(values["npm-allow"]),
    // A value of exactly N MiB fits: the limit leaves 4 KiB for CBOR's own framing.
    maxPayloadBytes: number("max-payload-mb", 1) * 1024 * 1024 + 4096,
    maxExecutors: number("max-executors", 1),
    maxMemoryMb: values["max-memory-mb"] === undefined ? defaultMaxMemoryMb() : number("max-memory-mb", 16),
    maxQueuedInputs: number("max-queued-inputs", 1),
    maxExecutorsPerFunction: number("max-executors-per-function", 1),
    defaultTimeoutMs: number("default-timeout-ms", 1),
    defaultMemoryMb: number("default-memory-mb", 16),
    maxTimeoutMs: Math.min(number("max-timeout-ms", 1), 2 ** 31 - 1),
    maxFunctionMemoryMb: number("max-function-memory-mb", 16),
    scaledownMs: number("scaledown-ms", 0),
    graceMs: number("grace-ms", 0),
    retentionMs: number("retention-ms", 1),
    cpuPlacement: values["cpu-placement"] === "auto",
    insecure: values.insecure,
    tlsCert: values["tls-cert"],
    tlsKey: values["tls-key"],
    tlsClientCa: values["tls-client-ca"],
    nats: values.nats,
    nodeName: values["node-name"],
    clusterAckWaitMs: number("cluster-ack-wait-ms", 100),
    clusterMaxDeliver: number("cluster-max-deliver", 1),
    clusterBatch: number("cluster-batch", 0),
  };
}

/** Three quarters of this machine's memory, in MiB. */
function defaultMaxMemoryMb(): number {
  return Math.floor(Deno.systemMemoryInfo().total * 0.75 / (1024 * 1024));
}
