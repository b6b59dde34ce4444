/**
 * The `stupid-modal` command line: deploy and run apps, list and stop them, read their logs,
 * look up calls, keep secrets. `deno task cli --help` lists the commands.
 *
 * @example
 * ```sh
 * deno task cli deploy app/app.ts
 * deno task cli run app/app.ts::inference 3 5
 * ```
 *
 * @module
 */
export { main } from "./src/cli/program.ts";
import { main } from "./src/cli/program.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
