/** Which app versions a caller may run: an admin token any, an invoke-only token deployed apps only. */
import { Code, StupidModalError } from "../wire/errors.ts";
import type { AppStore, AppVersion } from "./app_store.ts";
import type { Identity } from "./auth.ts";

/** Throws PERMISSION_DENIED unless `who` may call functions of `app`. */
export function checkCallTarget(who: Identity, app: AppVersion, store: AppStore): void {
  if (who.scopes.includes("admin")) return;
  const deployment = store.deployment(app.name);
  if (deployment && !deployment.stopped && deployment.version === app.version) return;
  throw new StupidModalError(
    Code.PERMISSION_DENIED,
    `the token "${who.name}" may call deployed apps only, and version ${app.version.slice(0, 12)} of ` +
      `"${app.name}" is not the deployed one`,
  );
}
