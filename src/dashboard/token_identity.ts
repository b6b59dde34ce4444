/** The one place the dashboard asks whom a token stands for: the server's authenticator, adapted. */
import type { Authenticator } from "../server/auth.ts";

/** Who is logged in to the dashboard. */
export interface DashboardIdentity {
  /** The token's name. */
  name: string;
  scopes: string[];
}

/**
 * Whom a token stands for; throws the authenticator's StupidModalError (UNAUTHENTICATED for a
 * wrong or revoked token, PERMISSION_DENIED for one without the scope the dashboard needs).
 */
export type IdentifyToken = (token: string) => DashboardIdentity;

/** The scope a token needs to see the dashboard: everything there is the operator's to see. */
export const dashboardScope = "admin";

/**
 * Checks tokens with the server's authenticator, as an `Authorization: Bearer` value would be.
 *
 * @example
 * ```ts
 * const identify = tokenIdentity(auth);
 * identify(token).name; // "root" for the server's own token
 * ```
 */
export function tokenIdentity(auth: Authenticator): IdentifyToken {
  return (token) => {
    const identity = auth.checkHeader(`Bearer ${token}`, dashboardScope, "the login form's token");
    return { name: identity.name, scopes: [...identity.scopes] };
  };
}
