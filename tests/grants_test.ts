/** Functions get at most what the operator grants; the server's own files are never grantable. */
import { deepStrictEqual, throws } from "node:assert/strict";
import { Code, type StupidModalError } from "../mod.ts";
import { resolveGrants, workerPermissions } from "../src/server/grants.ts";
import type { PermissionsMessage } from "../src/wire/proto.ts";

const grants = resolveGrants(
  {
    read: ["app/models", "/srv/data"],
    write: ["/tmp/out"],
    net: ["api.example.com", "db:5432"],
    env: ["HF_TOKEN", "APP_*"],
  },
  "/work/project",
  ["/work/project/.stupid-modal", "/work/project/src"],
);
const none: PermissionsMessage = { read: [], write: [], net: [], env: [] };

Deno.test("a request within the grants becomes exactly those worker permissions", () => {
  const permissions = workerPermissions(
    "f",
    { read: ["app/models/weights.json"], write: [], net: ["api.example.com:443", "db:5432"], env: ["APP_MODE"] },
    grants,
    "/work/project",
  );
  deepStrictEqual(permissions, {
    read: ["/work/project/app/models/weights.json"],
    write: false,
    net: ["api.example.com:443", "db:5432"],
    env: ["APP_MODE"],
    run: false,
    ffi: false,
    sys: false,
    import: false,
  });
});

Deno.test("no request means no permission at all", () => {
  const permissions = workerPermissions("f", none, grants, "/work/project");
  deepStrictEqual([permissions.read, permissions.write, permissions.net, permissions.env], [
    false,
    false,
    false,
    false,
  ]);
});

Deno.test("asking beyond the grants names the permission and the flag", () => {
  const denied = (request: Partial<PermissionsMessage>, pattern: RegExp) =>
    throws(() => workerPermissions("f", { ...none, ...request }, grants, "/work/project"), (err: StupidModalError) => {
      deepStrictEqual(err.code, Code.PERMISSION_DENIED);
      return pattern.test(err.message);
    });
  denied({ read: ["app"] }, /read access to "app".*--grant-read=app/);
  denied({ read: ["app/models/../../etc"] }, /--grant-read/);
  denied({ read: ["/srv/data-other"] }, /--grant-read=\/srv\/data-other/);
  denied({ write: ["app/models"] }, /--grant-write=app\/models/);
  denied({ net: ["db"] }, /--grant-net=db/);
  denied({ net: ["db:5433"] }, /--grant-net=db:5433/);
  denied({ env: ["PATH"] }, /--grant-env=PATH/);
});

Deno.test("the server's data directory and code cannot be granted", () => {
  const protectedPaths = ["/work/project/.stupid-modal", "/work/project/src"];
  for (const path of [".", "/", ".stupid-modal", ".stupid-modal/apps", "src/server"]) {
    throws(
      () => resolveGrants({ ...none, read: [path] }, "/work/project", protectedPaths),
      /would expose the server's own files/,
    );
  }
});
