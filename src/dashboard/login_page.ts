/** The dashboard's login page: one field for a token, and why the last one was refused. */
import { escapeHtml } from "./html_text.ts";

/** What the login page says. */
export interface LoginPageOptions {
  /** Where to go once logged in (a path of the dashboard). */
  next: string;
  /** Why the last attempt failed. */
  error?: string;
  /** The assets' version, for their URLs. */
  assetsVersion: string;
}

/**
 * The login page's HTML. It has no script: a plain form posts the token to `/login`.
 *
 * @example
 * ```ts
 * htmlResponse(loginPage({ next: "/ui/calls", assetsVersion: "abc" }));
 * ```
 */
export function loginPage({ next, error, assetsVersion }: LoginPageOptions): string {
  const alert = error ? `<p class="error" role="alert" id="login-error">${escapeHtml(error)}</p>` : "";
  const described = error
    ? ' aria-describedby="token-help login-error" aria-invalid="true"'
    : ' aria-describedby="token-help"';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · Stupid Modal</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/assets/dashboard.css?v=${encodeURIComponent(assetsVersion)}">
</head>
<body class="login">
<main id="main">
<h1>Stupid Modal</h1>
<form method="post" action="/login" class="login-form">
${alert}
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus${described}>
<p class="muted" id="token-help">The server's token (printed at its first start and kept in its data directory's
<code>token</code> file), or a named token with the admin scope.</p>
<input type="hidden" name="next" value="${escapeHtml(next)}">
<button type="submit">Log in</button>
</form>
</main>
</body>
</html>
`;
}
