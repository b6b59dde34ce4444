/** `calls list`, `calls get ID`, `calls cancel ID`: spawned, scheduled and web calls by id. */
import { decodeValue } from "../wire/codec.ts";
import { Code } from "../wire/errors.ts";
import type { CallInfo, GetCallResponse } from "../wire/proto.ts";
import { failureToError } from "../sdk/failure.ts";
import { type CommandSpec, intOption } from "./cli_args.ts";
import { withClient } from "./cli_client.ts";
import { errorFields, errorText } from "./error_text.ts";
import { ExitCode } from "./exit_codes.ts";
import { isoTime, printJson, shortVersion, table } from "./text_output.ts";
import { valueFields, valueText } from "./value_text.ts";

const json = { type: "boolean", help: "print JSON" } as const;
const stateNames = ["running", "succeeded", "failed", "cancelled"];

/** How long one GetCall waits on the server before asking again. */
const longPollMs = 30_000;

/** One input's outcome, decoded. */
type Outcome = { ok: true; value: unknown } | { ok: false; error: Error };

/** The `calls` commands. */
export const callsCommands: CommandSpec[] = [
  {
    name: "calls list",
    args: "",
    summary: "list spawned, scheduled and web calls, newest first",
    options: {
      app: { type: "string", value: "APP", help: "only this app's calls" },
      limit: { type: "string", value: "N", help: "at most N calls (default 50)" },
      json,
    },
    minArgs: 0,
    maxArgs: 0,
    async run({ values }) {
      const limit = intOption(callsCommands[0], values, "limit", 50, 1);
      const calls = await withClient(values, (client) => client.listCalls((values.app as string) ?? "", limit));
      if (values.json) {
        printJson({ calls: calls.map(callJson) });
      } else if (calls.length === 0) {
        console.log("no calls");
      } else {
        console.log(table(
          ["ID", "APP", "FUNCTION", "TRIGGER", "STATE", "DONE", "FAILED", "CREATED", "VERSION"],
          calls.map((call) => [
            call.call_id,
            call.app_name,
            call.function,
            call.trigger,
            stateNames[call.state] ?? String(call.state),
            `${call.finished}/${call.inputs}`,
            String(call.failed),
            isoTime(call.created_at_ms),
            shortVersion(call.version),
          ]),
        ));
      }
      return 0;
    },
  },
  {
    name: "calls get",
    args: "ID",
    summary: "show a call's state and, once it finished, its result (or each result of a batch)",
    details: [
      "Results print as JSON, or in a readable form for values JSON cannot hold; failures with",
      "their remote stack. With --json: {id, state, done, inputs, finished, failed, outputs}, each",
      'output {"input","ok","value"} ("value_text" for what JSON cannot hold) or {"input","ok","error"}.',
      "Exit code 1 when the call (or an input of a batch) failed.",
    ].join("\n"),
    options: {
      wait: { type: "string", value: "MS", help: "wait up to MS milliseconds for the call to finish (default 0)" },
      json,
    },
    minArgs: 1,
    maxArgs: 1,
    async run({ values, positionals: [id] }) {
      const wait = intOption(callsCommands[1], values, "wait", 0);
      const state = await withClient(values, async (client) => {
        const deadline = Date.now() + wait;
        while (true) {
          const response = await client.getCall(id, Math.max(0, Math.min(deadline - Date.now(), longPollMs)));
          if (response.done || Date.now() >= deadline) return response;
        }
      });
      const outcomes = decodeOutcomes(state);
      const failed = outcomes.filter((outcome) => !outcome.ok).length;
      const status = !state.done
        ? "running"
        : outcomes.some(isCancelled)
        ? "cancelled"
        : failed > 0
        ? "failed"
        : "succeeded";
      if (values.json) {
        printJson({
          id,
          state: status,
          done: state.done,
          inputs: state.inputs,
          finished: state.finished,
          failed,
          outputs: outcomes.map((outcome, input) =>
            outcome.ok
              ? { input, ok: true, ...valueFields(outcome.value) }
              : { input, ok: false, error: errorFields(outcome.error) }
          ),
        });
      } else {
        console.log(`${id}: ${status} (${state.finished} of ${state.inputs} inputs done)`);
        const batch = outcomes.length > 1 || id.startsWith("fm-");
        outcomes.forEach((outcome, input) => {
          const prefix = batch ? `[${input}] ` : "";
          console.log(prefix + (outcome.ok ? valueText(outcome.value) : `error: ${errorText(outcome.error)}`));
        });
      }
      return failed > 0 ? ExitCode.FAILED : ExitCode.OK;
    },
  },
  {
    name: "calls cancel",
    args: "ID",
    summary: "cancel a spawned call or batch (what already finished keeps its outcome)",
    options: {},
    minArgs: 1,
    maxArgs: 1,
    async run({ values, positionals: [id] }) {
      await withClient(values, (client) => client.cancelCall(id));
      console.log(`cancelled ${id}`);
      return 0;
    },
  },
];

function callJson(call: CallInfo) {
  return {
    id: call.call_id,
    app: call.app_name,
    function: call.function,
    version: call.version,
    trigger: call.trigger,
    state: stateNames[call.state] ?? String(call.state),
    inputs: call.inputs,
    finished: call.finished,
    failed: call.failed,
    created_at: isoTime(call.created_at_ms),
    finished_at: call.finished_at_ms ? isoTime(call.finished_at_ms) : null,
  };
}

function decodeOutcomes(state: GetCallResponse): Outcome[] {
  const outputs = [...state.outputs].sort((a, b) => a.call_id - b.call_id);
  return outputs.map((output): Outcome => {
    if (output.failure) return { ok: false, error: failureToError(output.failure) };
    return { ok: true, value: decodeValue(output.value ?? new Uint8Array(), "result") };
  });
}

function isCancelled(outcome: Outcome): boolean {
  return !outcome.ok && (outcome.error as { code?: number }).code === Code.CANCELLED;
}
