/** `secret set NAME KEY=VALUE...`, `secret list`, `secret delete NAME`: the server's named secrets. */
import { isEnvName, isSecretName } from "../wire/names.ts";
import { commandHelp, type CommandSpec } from "./cli_args.ts";
import { withClient } from "./cli_client.ts";
import { UsageError } from "./exit_codes.ts";
import { isoTime, printJson, table } from "./text_output.ts";

/** The `secret` commands. Values are never printed, not even in error messages. */
export const secretCommands: CommandSpec[] = [
  {
    name: "secret set",
    args: "NAME KEY=VALUE...",
    summary: "create or replace a named secret (its values are never printed back)",
    details: [
      "Functions that list NAME in their `secrets` option see each KEY as an environment variable.",
      "Setting NAME again replaces all its keys. Values given on the command line may land in your",
      'shell\'s history: prefer `KEY="$(cat file)"`, or start the line with a space where the shell',
      "ignores such lines.",
    ].join("\n"),
    options: {},
    minArgs: 2,
    maxArgs: Infinity,
    async run({ values, positionals: [name, ...pairs] }) {
      const help = commandHelp(secretCommands[0]);
      if (!isSecretName(name)) {
        throw new UsageError(`secret name "${name}" must be 1–63 letters, digits, ".", "_" or "-"`, help);
      }
      const secret: Record<string, string> = {};
      pairs.forEach((pair, i) => {
        const equals = pair.indexOf("=");
        // The argument may be a value typed without its key: never repeat it.
        if (equals < 0) throw new UsageError(`argument ${i + 2} is not KEY=VALUE`, help);
        const key = pair.slice(0, equals);
        if (!isEnvName(key)) {
          throw new UsageError(`argument ${i + 2}: "${key}" is not an environment variable name`, help);
        }
        if (key in secret) throw new UsageError(`key ${key} is given twice`, help);
        secret[key] = pair.slice(equals + 1);
      });
      await withClient(values, (client) => client.setSecret(name, secret));
      console.log(`secret ${name} set (keys: ${Object.keys(secret).join(", ")})`);
      return 0;
    },
  },
  {
    name: "secret list",
    args: "",
    summary: "list the secrets' names and keys (never their values)",
    options: { json: { type: "boolean", help: "print JSON" } },
    minArgs: 0,
    maxArgs: 0,
    async run({ values }) {
      const secrets = await withClient(values, (client) => client.listSecrets());
      const views = secrets.map((secret) => ({
        name: secret.name,
        keys: secret.keys,
        updated_at: isoTime(secret.updated_at_ms),
      }));
      if (values.json) printJson({ secrets: views });
      else if (views.length === 0) console.log("no secrets");
      else {
        console.log(table(
          ["NAME", "KEYS", "UPDATED"],
          views.map((secret) => [secret.name, secret.keys.join(", "), secret.updated_at]),
        ));
      }
      return 0;
    },
  },
  {
    name: "secret delete",
    args: "NAME",
    summary: "delete a named secret",
    options: {},
    minArgs: 1,
    maxArgs: 1,
    async run({ values, positionals: [name] }) {
      await withClient(values, (client) => client.deleteSecret(name));
      console.log(`secret ${name} deleted`);
      return 0;
    },
  },
];
