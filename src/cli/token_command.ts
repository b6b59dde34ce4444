/** `token create|list|revoke` and `audit`: who may use the server, and what they did. */
import type { Scope } from "../wire/proto.ts";
import { commandHelp, type CommandSpec, intOption } from "./cli_args.ts";
import { withClient } from "./cli_client.ts";
import { UsageError } from "./exit_codes.ts";
import { isoTime, printJson, table } from "./text_output.ts";

const json = { type: "boolean", help: "print JSON" } as const;

/** The `token` and `audit` commands (all need an admin token). */
export const tokenCommands: CommandSpec[] = [
  {
    name: "token create",
    args: "NAME",
    summary: "create a named token and print it, once (the server keeps only its SHA-256)",
    details: [
      'Scopes: "admin" may do everything; "invoke" may call, spawn and look up deployed apps and',
      "fetch or cancel its own spawned calls. Limits: calls in flight at once, and unfinished spawned",
      "inputs; beyond them a call fails with RESOURCE_EXHAUSTED.",
    ].join("\n"),
    options: {
      scope: { type: "string", value: "SCOPES", help: 'comma-separated: "invoke" (default), "admin"' },
      "max-concurrent": { type: "string", value: "N", help: "calls in flight at once (default: no limit)" },
      "max-queued": { type: "string", value: "N", help: "unfinished spawned inputs (default: no limit)" },
      json,
    },
    minArgs: 1,
    maxArgs: 1,
    async run({ values, positionals: [name] }) {
      const scopes = ((values.scope as string | undefined) ?? "invoke").split(",").map((s) => s.trim());
      const unknown = scopes.find((scope) => scope !== "admin" && scope !== "invoke");
      if (unknown !== undefined) {
        throw new UsageError(`unknown scope "${unknown}"; scopes are admin and invoke`, commandHelp(tokenCommands[0]));
      }
      const maxConcurrentCalls = intOption(tokenCommands[0], values, "max-concurrent", 0, 0);
      const maxQueuedInputs = intOption(tokenCommands[0], values, "max-queued", 0, 0);
      const token = await withClient(
        values,
        (client) => client.createToken(name, scopes as Scope[], { maxConcurrentCalls, maxQueuedInputs }),
      );
      if (values.json) printJson({ name, scopes, token });
      else {
        console.log(token);
        console.error(`token ${name} created [${scopes.join(", ")}]; it is shown this once`);
      }
      return 0;
    },
  },
  {
    name: "token list",
    args: "",
    summary: "list the named tokens: scopes, limits, creation time (never the tokens)",
    options: { json },
    minArgs: 0,
    maxArgs: 0,
    async run({ values }) {
      const tokens = await withClient(values, (client) => client.listTokens());
      const views = tokens.map((token) => ({
        name: token.name,
        scopes: token.scopes,
        max_concurrent_calls: token.max_concurrent_calls,
        max_queued_inputs: token.max_queued_inputs,
        created_at: isoTime(token.created_at_ms),
      }));
      if (values.json) printJson({ tokens: views });
      else if (views.length === 0) console.log("no named tokens (only the server's own root token)");
      else {
        const limit = (n: number) => n === 0 ? "-" : String(n);
        console.log(table(
          ["NAME", "SCOPES", "MAX CONCURRENT", "MAX QUEUED", "CREATED"],
          views.map((t) => [
            t.name,
            t.scopes.join(","),
            limit(t.max_concurrent_calls),
            limit(t.max_queued_inputs),
            t.created_at,
          ]),
        ));
      }
      return 0;
    },
  },
  {
    name: "token revoke",
    args: "NAME",
    summary: "revoke a named token at once",
    options: {},
    minArgs: 1,
    maxArgs: 1,
    async run({ values, positionals: [name] }) {
      await withClient(values, (client) => client.revokeToken(name));
      console.log(`token ${name} revoked`);
      return 0;
    },
  },
  {
    name: "audit",
    args: "",
    summary: "show the audit log: deploys, stops, secrets, tokens and invocations, newest first",
    options: {
      token: { type: "string", value: "NAME", help: "only this token's entries" },
      limit: { type: "string", value: "N", help: "at most N entries (default 100)" },
      json,
    },
    minArgs: 0,
    maxArgs: 0,
    async run({ values }) {
      const limit = intOption(tokenCommands[3], values, "limit", 100, 1);
      const entries = await withClient(values, (client) => client.listAudit(limit, (values.token as string) ?? ""));
      if (values.json) printJson({ entries: entries.map((entry) => ({ ...entry, time: isoTime(entry.time_ms) })) });
      else if (entries.length === 0) console.log("the audit log is empty");
      else {
        console.log(table(
          ["TIME", "TOKEN", "ACTION", "APP", "FUNCTION", "COUNT", "DETAIL"],
          entries.map((e) => [
            isoTime(e.time_ms),
            e.token,
            e.action,
            e.app_name || "-",
            e.function || "-",
            String(e.count),
            e.detail || "-",
          ]),
        ));
      }
      return 0;
    },
  },
];
