/** `apps list`, `apps show APP`, `apps stop APP`: the deployed apps, one in detail, stopping one. */
import { appDetailText, appView, webBase } from "./app_view.ts";
import type { CommandSpec } from "./cli_args.ts";
import { withClient } from "./cli_client.ts";
import { printJson, shortVersion, table } from "./text_output.ts";

const json = { type: "boolean", help: "print JSON" } as const;

/** The `apps` commands. */
export const appsCommands: CommandSpec[] = [
  {
    name: "apps list",
    args: "",
    summary: "list the deployed apps with their versions and functions",
    options: { json },
    minArgs: 0,
    maxArgs: 0,
    async run({ values }) {
      const { apps, web } = await withClient(values, async (client) => {
        const response = await client.listApps();
        return { apps: response.apps, web: webBase(client.settings.server, response.web_port) };
      });
      const views = apps.map((app) => appView(app, web));
      if (values.json) {
        printJson({ apps: views });
      } else if (views.length === 0) {
        console.log("no apps deployed");
      } else {
        console.log(table(
          ["APP", "STATE", "VERSION", "DEPLOYED", "DEPLOYS", "FUNCTIONS"],
          views.map((app) => [
            app.name,
            app.state,
            shortVersion(app.version),
            app.deployed_at,
            String(app.deploy_count),
            app.functions.map((fn) => fn.name).join(", "),
          ]),
        ));
      }
      return 0;
    },
  },
  {
    name: "apps show",
    args: "APP",
    summary: "show a deployed app's functions: permissions, limits, pool settings, schedule, web",
    options: { json },
    minArgs: 1,
    maxArgs: 1,
    async run({ values, positionals: [appName] }) {
      const view = await withClient(values, async (client) => {
        const { apps: [app], web_port } = await client.listApps(appName);
        return appView(app, webBase(client.settings.server, web_port));
      });
      if (values.json) printJson(view);
      else console.log(appDetailText(view));
      return 0;
    },
  },
  {
    name: "apps stop",
    args: "APP",
    summary: "stop a deployed app: no new calls by its name, no schedules, no web endpoints",
    details: "Calls already running finish. Deploying the app again starts it.",
    options: {},
    minArgs: 1,
    maxArgs: 1,
    async run({ values, positionals: [appName] }) {
      await withClient(values, (client) => client.stopApp(appName));
      console.log(`stopped ${appName} (calls already running finish; deploy it again to start it)`);
      return 0;
    },
  },
];
