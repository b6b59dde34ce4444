/** Deploys a fixture module's exported `app` to a test server from a separate process, as a user would. */
import type { TestServer } from "./test_server.ts";

const deployer = new URL("../fixtures/deploy_app.ts", import.meta.url).pathname;
const repoRoot = new URL("../../", import.meta.url).pathname;

/** Deploys `modulePath` (relative to the repository) and resolves with the deployed version; `env` adds settings. */
export async function deployFixture(
  server: TestServer,
  modulePath: string,
  env: Record<string, string> = {},
): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      `--allow-net=${server.address.replace(/:\d+$/, "")}`,
      "--allow-read",
      "--allow-env",
      deployer,
      modulePath,
    ],
    cwd: repoRoot,
    env: { STUPID_MODAL_SERVER: server.address, STUPID_MODAL_TOKEN: server.token, NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes).trim();
  if (!output.success) throw new Error(`deploying ${modulePath} failed: ${text(output.stderr)}`);
  return text(output.stdout);
}
