/**
 * The HTML of every dashboard page but the login: header, navigation, the signed-in name with a
 * logout button, and an empty main region that the browser code fills and keeps live.
 */
import { escapeHtml } from "./html_text.ts";
import type { DashboardIdentity } from "./token_identity.ts";

/** The dashboard's pages. */
export type PageName = "overview" | "apps" | "calls" | "call" | "executors" | "logs" | "missing";

const titles: Record<PageName, string> = {
  overview: "Overview",
  apps: "Apps",
  calls: "Calls",
  call: "Call",
  executors: "Executors",
  logs: "Logs",
  missing: "Not found",
};

const navigation: { page: PageName; href: string }[] = [
  { page: "overview", href: "/" },
  { page: "apps", href: "/ui/apps" },
  { page: "calls", href: "/ui/calls" },
  { page: "executors", href: "/ui/executors" },
  { page: "logs", href: "/ui/logs" },
];

/** What one page shows. */
export interface PageShellOptions {
  page: PageName;
  /** The page's subject: an app's name for logs, a call's id for a call. */
  param?: string;
  identity: DashboardIdentity;
  /** The assets' version, for their URLs. */
  assetsVersion: string;
}

/**
 * The page's HTML.
 *
 * @example
 * ```ts
 * htmlResponse(pageShell({ page: "calls", identity, assetsVersion: "abc" }));
 * ```
 */
export function pageShell({ page, param = "", identity, assetsVersion }: PageShellOptions): string {
  const heading = page === "call" ? `Call ${param}` : page === "logs" && param ? `Logs of ${param}` : titles[page];
  const links = navigation.map(({ page: target, href }) => {
    const current = target === page || (target === "calls" && page === "call") ? ' aria-current="page"' : "";
    return `<li><a href="${href}"${current}>${titles[target]}</a></li>`;
  }).join("");
  const version = encodeURIComponent(assetsVersion);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(heading)} · Stupid Modal</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/assets/dashboard.css?v=${version}">
<script type="module" src="/ui/assets/dashboard.js?v=${version}"></script>
</head>
<body data-page="${page}" data-param="${escapeHtml(param)}">
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="/">Stupid Modal</a>
<nav aria-label="Dashboard"><ul>${links}</ul></nav>
<p class="live" id="live-status" role="status">connecting…</p>
<form class="who" method="post" action="/logout">
<span>Signed in as <strong>${escapeHtml(identity.name)}</strong></span>
<button type="submit">Log out</button>
</form>
</header>
<main id="main" tabindex="-1">
<h1>${escapeHtml(heading)}</h1>
<div id="page" aria-busy="true"><p class="muted">Loading…</p></div>
<noscript><p>This dashboard needs JavaScript to show its live data.</p></noscript>
</main>
</body>
</html>
`;
}
