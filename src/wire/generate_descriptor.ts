/**
 * Writes `src/wire/stupid_modal.json`, the protobuf.js JSON form of `protos/stupid_modal.proto`.
 * Callers load the contract from this JSON through a static import, so they need no read access
 * to `protos/`. Run `deno task proto` after editing the proto; `--check` fails if it is stale.
 */
import protobuf from "protobufjs";

const protoPath = new URL("../../protos/stupid_modal.proto", import.meta.url);
const jsonPath = new URL("./stupid_modal.json", import.meta.url);

const parsed = protobuf.parse(await Deno.readTextFile(protoPath), { keepCase: true });
const json = JSON.stringify(parsed.root.toJSON({ keepComments: false }), null, 2) + "\n";

if (Deno.args.includes("--check")) {
  const current = await Deno.readTextFile(jsonPath).catch(() => "");
  if (current !== json) {
    console.error("src/wire/stupid_modal.json is stale: run `deno task proto`");
    Deno.exit(1);
  }
} else {
  await Deno.writeTextFile(jsonPath, json);
}
