/** `logs APP`: an app's recent log lines, and with `--follow` new ones until Ctrl+C. */
import type { AppLogEntry } from "../wire/proto.ts";
import { Code, StupidModalError } from "../wire/errors.ts";
import { type CommandSpec, intOption } from "./cli_args.ts";
import { withClient } from "./cli_client.ts";
import { CliError, ExitCode } from "./exit_codes.ts";
import { isoTime } from "./text_output.ts";

/** The `logs` command. */
export const logsCommand: CommandSpec = {
  name: "logs",
  args: "APP",
  summary: "show an app's log lines (its functions' output and the server's line per call); --follow for new ones",
  details: [
    "Text lines read TIME FUNCTION CALL TEXT; the server's own lines (one per call) are marked",
    "[server], lines a function wrote to stderr [stderr]. With --json, one JSON object per line:",
    '{"time","function","call_id","stream","server","text"}. --follow runs until Ctrl+C (exit 0).',
  ].join("\n"),
  options: {
    tail: { type: "string", value: "N", help: "how many recent lines first (default 100)" },
    follow: { type: "boolean", short: "f", help: "then print new lines as they come, until Ctrl+C" },
    json: { type: "boolean", help: "print one JSON object per line" },
  },
  minArgs: 1,
  maxArgs: 1,
  async run({ values, positionals: [appName] }) {
    const tail = intOption(logsCommand, values, "tail", 100, 1);
    const follow = values.follow === true;
    const print = values.json
      ? (entry: AppLogEntry) => console.log(JSON.stringify(entryJson(entry)))
      : (entry: AppLogEntry) => console.log(entryText(entry));
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    if (follow) Deno.addSignalListener("SIGINT", onSignal);
    try {
      await withClient(values, async (client) => {
        const deployed = await client.listApps(appName).then(() => true, (err) => {
          if (StupidModalError.from(err).code !== Code.NOT_FOUND) throw err;
          return false;
        });
        if (!deployed && follow) console.error(`(${appName} is not deployed; waiting for its lines)`);
        let count = 0;
        for await (const entry of client.appLogs({ app_name: appName, tail, follow }, stop.signal)) {
          count++;
          print(entry);
        }
        if (!deployed && !follow && count === 0) {
          throw new CliError(ExitCode.NOT_FOUND, `app "${appName}" is not deployed and has no log lines`);
        }
      });
    } finally {
      if (follow) Deno.removeSignalListener("SIGINT", onSignal);
    }
    return 0;
  },
};

function entryJson(entry: AppLogEntry) {
  return {
    time: isoTime(entry.time_ms),
    function: entry.function,
    call_id: entry.call_id,
    stream: entry.stream === 1 ? "stderr" : "stdout",
    server: entry.server,
    text: entry.text,
  };
}

function entryText(entry: AppLogEntry): string {
  const marks = [entry.server ? "[server]" : "", entry.stream === 1 ? "[stderr]" : ""].filter(Boolean);
  return [isoTime(entry.time_ms), entry.function || "-", entry.call_id || "-", ...marks, entry.text].join(" ");
}
