/** `deploy FILE`: registers the apps a module defines and makes them their names' deployed versions. */
import { bundleApp } from "../sdk/app_bundle.ts";
import { appFunctions } from "../sdk/function_registry.ts";
import { type AppView, appView, scheduleText, webBase, webText } from "./app_view.ts";
import type { CommandSpec } from "./cli_args.ts";
import { withClient } from "./cli_client.ts";
import { printJson, shortVersion } from "./text_output.ts";
import { chosenApps, importUserModule } from "./user_module.ts";

/** What `deploy --json` prints for each app. */
interface DeployedView extends AppView {
  previous_version: string;
}

/** The `deploy` command. */
export const deployCommand: CommandSpec = {
  name: "deploy",
  args: "FILE",
  summary: "register the apps FILE defines and deploy them under their names",
  details: [
    "Imports FILE here (its top level runs with this process's permissions; its",
    "`if (import.meta.main)` block does not), ships each app's code and makes it the deployed",
    "version of its name. Calls already running on the previous version finish there.",
    "Prints each app's version, functions, web endpoints and schedules.",
  ].join("\n"),
  options: {
    app: { type: "string", value: "NAME", help: "deploy only this app of FILE" },
    json: { type: "boolean", help: "print JSON" },
  },
  minArgs: 1,
  maxArgs: 1,
  async run({ values, positionals: [path] }) {
    await importUserModule(path);
    const appNames = chosenApps(path, values.app as string | undefined);
    const deployed = await withClient(values, async (client) => {
      // Every app is registered (its code checked) before any is deployed.
      const versions: string[] = [];
      for (const appName of appNames) {
        versions.push(await client.registerApp(await bundleApp(appName, appFunctions(appName))));
      }
      const views: DeployedView[] = [];
      for (const [i, appName] of appNames.entries()) {
        const { previous_version } = await client.deploy(appName, versions[i]);
        const { apps: [app], web_port } = await client.listApps(appName);
        const view = { ...appView(app, webBase(client.settings.server, web_port)), previous_version };
        if (!values.json) console.log((i > 0 ? "\n" : "") + deployText(view));
        views.push(view);
      }
      return views;
    });
    if (values.json) printJson({ apps: deployed });
    return 0;
  },
};

function deployText(app: DeployedView): string {
  const previous = !app.previous_version
    ? ""
    : app.previous_version === app.version
    ? ", unchanged"
    : `, replacing ${shortVersion(app.previous_version)}`;
  const lines = [
    `deployed ${app.name} version ${shortVersion(app.version)} (deploy #${app.deploy_count}${previous})`,
    `  functions: ${app.functions.map((fn) => fn.name).join(", ")}`,
  ];
  const width = Math.max(...app.functions.map((fn) => fn.name.length));
  for (const fn of app.functions) {
    if (fn.web) lines.push(`  web:       ${fn.name.padEnd(width)}  ${webText(fn.web)}`);
    if (fn.schedule) lines.push(`  schedule:  ${fn.name.padEnd(width)}  ${scheduleText(fn.schedule)}`);
  }
  return lines.join("\n");
}
