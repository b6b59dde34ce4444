/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against a real server: login and
 * refusal, the deployed app, a call watched live from queued to finished with its detail and logs, a failed call's
 * remote stack, an executor appearing and scaling down, the live log tail, the charts, logout ending live streams, and
 * no request leaving loopback. Screenshots of each page go to tests/artifacts/dashboard/ (ignored by git).
 */
import { deepStrictEqual, equal, match, notEqual, ok, rejects } from "node:assert/strict";
import { DashboardSessions } from "../src/dashboard/dashboard_sessions.ts";
import { safeNext } from "../src/dashboard/dashboard_login.ts";
import { readSessionCookie, sessionCookie } from "../src/dashboard/session_cookie.ts";
import type { Browser, Page } from "playwright-core";
import { Client } from "../client.ts";
import { lookup } from "../mod.ts";
import { launchChromium } from "./helpers/browser.ts";
import { deployFixture } from "./helpers/deploy.ts";
import { startTestServer, type TestServer } from "./helpers/test_server.ts";
import { webUrl } from "./helpers/web_url.ts";

const repoRoot = new URL("../", import.meta.url).pathname;
const artifacts = new URL("./artifacts/dashboard/", import.meta.url).pathname;
Deno.test("the committed browser bundle is what `deno task dashboard` builds from src/dashboard/browser/", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-run", "--allow-env", "src/dashboard/build_bundle.ts", "--check"],
    cwd: repoRoot,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  equal(code, 0, `${text.decode(stdout)}${text.decode(stderr)}`);
});

Deno.test("sessions expire, end with their token, and are bounded in number; the cookie holds only the id", () => {
  let now = 1_000;
  const sessions = new DashboardSessions({ ttlMs: 100, maxSessions: 2, now: () => now });
  let valid = true;
  const a = sessions.open({ name: "ops", scopes: ["admin"] }, () => valid);
  match(a, /^[A-Za-z0-9_-]{43}$/);
  equal(sessions.find(a)?.identity.name, "ops");
  equal(sessions.find("not-an-id"), undefined);
  equal(sessions.find(undefined), undefined);
  valid = false;
  equal(sessions.find(a), undefined, "a revoked token ends its session");
  valid = true;
  const b = sessions.open({ name: "b", scopes: ["admin"] }, () => true);
  const c = sessions.open({ name: "c", scopes: ["admin"] }, () => true);
  const d = sessions.open({ name: "d", scopes: ["admin"] }, () => true);
  equal(sessions.find(b), undefined, "the oldest session made room");
  equal(sessions.find(c)?.identity.name, "c");
  now += 100;
  equal(sessions.find(d), undefined, "expired");
  sessions.close(c);
  equal(sessions.find(c), undefined);

  const cookie = sessionCookie("abc", 3600, false);
  equal(cookie, "stupid_modal_session=abc; Path=/; Max-Age=3600; HttpOnly; SameSite=Strict");
  match(sessionCookie("abc", 1, true), /; Secure$/);
  const request = new Request("http://x/", { headers: { cookie: "other=1; stupid_modal_session=abc; x=y" } });
  equal(readSessionCookie(request), "abc");
});

Deno.test("after login, only this server's own paths", () => {
  equal(safeNext("/ui/calls?phase=failed"), "/ui/calls?phase=failed");
  for (const next of [null, "", "https://evil.example/", "//evil.example/", "/\\evil.example", "ui/calls", "/login"]) {
    equal(safeNext(next), "/", String(next));
  }
  equal(safeNext("/ui/calls\nSet-Cookie: x"), "/");
});

Deno.test("the dashboard, live in a browser", async (t) => {
  await Deno.mkdir(artifacts, { recursive: true });
  const gate = startGate();
  let server: TestServer | undefined;
  let browser: Browser | undefined;
  const closers: (() => void)[] = [];
  try {
    server = await startTestServer(["--scaledown-ms=1500", "--grant-net=127.0.0.1"]);
    await deployFixture(server, "tests/fixtures/dashboard_app.ts");
    const web = webUrl(server);
    const connection = { server: server.address, token: server.token };
    const gated = await lookup<(url: string) => { opened: string }>("dashdemo", "gated", connection);
    closers.push(() => gated.close());
    const fails = await lookup<(sku: number) => never>("dashdemo", "fails", connection);
    closers.push(() => fails.close());

    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    context.setDefaultTimeout(30_000); // generous for a loaded CI machine; each wait ends as soon as its condition holds
    const requested: string[] = [];
    context.on("request", (request) => requested.push(request.url()));
    const page = await context.newPage();
    const shot = (name: string, on: Page = page) => on.screenshot({ path: `${artifacts}${name}.png`, fullPage: true });

    await t.step("no session, no data: pages go to the login, the API answers 401", async () => {
      for (const path of ["/api/me", "/api/apps", "/api/calls", "/api/executors", "/api/stats", "/api/events"]) {
        const answer = await fetch(`${web}${path}`);
        await answer.body?.cancel();
        equal(answer.status, 401, path);
      }
      const wrongBearer = await fetch(`${web}/api/apps`, { headers: { authorization: "Bearer nope" } });
      await wrongBearer.body?.cancel();
      equal(wrongBearer.status, 401);
      const forged = await fetch(`${web}/login`, {
        method: "POST",
        headers: { origin: "http://evil.example", "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: server!.token, next: "/" }),
        redirect: "manual",
      });
      await forged.body?.cancel();
      equal(forged.status, 403, "a login posted from another site's page is refused");
      equal(forged.headers.get("set-cookie"), null);
      await page.goto(`${web}/ui/calls?phase=failed`);
      await page.waitForURL(/\/login\?next=%2Fui%2Fcalls%3Fphase%3Dfailed$/);
      await page.getByLabel("Token").waitFor();
      await shot("login");
    });

    await t.step("a wrong token is refused, and no cookie is set", async () => {
      await page.getByLabel("Token").fill("not-the-token");
      const [answer] = await Promise.all([
        page.waitForResponse((response) => response.url().endsWith("/login") && response.request().method() === "POST"),
        page.getByRole("button", { name: "Log in" }).click(),
      ]);
      equal(answer.status(), 401);
      match(await page.getByRole("alert").innerText(), /That token was refused: wrong/);
      deepStrictEqual(await context.cookies(), []);
      await shot("login-refused");
    });

    await t.step(
      "the right token logs in with an HttpOnly, SameSite=Strict session cookie that is not the token",
      async () => {
        await page.getByLabel("Token").fill(server!.token);
        await page.getByRole("button", { name: "Log in" }).click();
        await page.waitForURL(`${web}/ui/calls?phase=failed`);
        const cookies = await context.cookies();
        equal(cookies.length, 1);
        const [cookie] = cookies;
        equal(cookie.name, "stupid_modal_session");
        ok(cookie.httpOnly, "HttpOnly");
        equal(cookie.sameSite, "Strict");
        ok(cookie.expires > Date.now() / 1000, "it expires");
        notEqual(cookie.value, server!.token);
        ok(!cookie.value.includes(server!.token) && !decodeURIComponent(cookie.value).includes(server!.token));
        equal(await page.evaluate("document.cookie"), "", "scripts cannot read it");
        await page.locator("#live-status[data-state=live]").waitFor();
      },
    );

    await t.step("the apps page shows the deployed app: functions, permissions, pool, schedule, web URL", async () => {
      await page.getByRole("link", { name: "Apps", exact: true }).click();
      const app = page.locator('section[data-app="dashdemo"]');
      await app.waitFor();
      match(await app.locator("h2").innerText(), /dashdemo\s+running/);
      const gatedRow = app.locator('tr[data-function="gated"]');
      match(await gatedRow.innerText(), /net: 127\.0\.0\.1/);
      match(await gatedRow.innerText(), /workers 0–2/);
      match(await app.locator('tr[data-function="add"]').innerText(), new RegExp(`POST\\s+${web}/apps/dashdemo/add`));
      match(await app.locator('tr[data-function="yearly"]').innerText(), /cron "0 0 1 1 \*" \(UTC\)\s+next/);
      match(await app.locator('tr[data-function="fails"]').innerText(), /none/);
      await shot("apps");
    });

    // Three tabs, open before the call starts: they must show it without reloading.
    const executors = await context.newPage();
    await executors.goto(`${web}/ui/executors`);
    await executors.locator("#live-status[data-state=live]").waitFor();
    await executors.getByText("No executors are running").waitFor();
    const logs = await context.newPage();
    await logs.goto(`${web}/ui/logs/dashdemo`);
    await logs.locator("#live-status[data-state=live]").waitFor();
    await page.goto(`${web}/ui/calls`);
    await page.locator("#live-status[data-state=live]").waitFor();
    const loads = () => page.evaluate(() => performance.getEntriesByType("navigation").length + location.href);
    const before = await loads();

    const call = await gated.spawn(gate.url);
    await t.step("a call appears live, running, with its executor and log line", async () => {
      await gate.arrived;
      const row = page.locator(`tr[data-call-id="${call.id}"]`);
      await page.locator(`tr[data-call-id="${call.id}"][data-phase="running"]`).waitFor();
      match(await row.innerText(), /running\s+.*dashdemo\s+gated\s+spawn\s+root/s);
      await shot("calls-running");
      const busy = executors.locator('tr[data-state="busy"]');
      await busy.waitFor();
      match(await busy.innerText(), /dashdemo\s+gated/);
      await executors.locator("tr[data-pid]", { hasText: /\d MiB/ }).waitFor();
      await shot("executors-busy", executors);
      await logs.getByText("waiting at the gate").waitFor();
    });

    await t.step("it finishes live; its detail shows sizes, result and log lines", async () => {
      gate.open("open sesame");
      deepStrictEqual(await call.get(), { opened: "open sesame" });
      await page.locator(`tr[data-call-id="${call.id}"][data-phase="succeeded"]`).waitFor();
      equal(await loads(), before, "the calls page did not reload");
      await logs.getByText("the gate opened: open sesame").waitFor();
      await shot("logs", logs);
      await page.getByRole("link", { name: call.id }).click();
      await page.waitForURL(`${web}/ui/calls/${call.id}`);
      await page.locator("#call-phase .phase-succeeded").waitFor();
      match(await page.locator("#call-result").innerText(), /"opened": "open sesame"/);
      const facts = await page.locator("dl.facts").innerText();
      match(facts, /Arguments\s+\d+ B/);
      match(facts, /Result\s+\d+ B/);
      match(facts, /Attempts\s+1/);
      const lines = await page.locator("#call-logs").innerText();
      match(lines, /waiting at the gate/);
      match(lines, /the gate opened: open sesame/);
      await shot("call-detail");
    });

    await t.step("the idle executor scales down and leaves the page", async () => {
      await executors.locator("tr[data-pid]").waitFor({ state: "detached", timeout: 45_000 });
      await executors.getByText("No executors are running").waitFor();
      await shot("executors-scaled-down", executors);
    });

    await t.step("a failed call shows its error and the remote stack", async () => {
      await rejects(fails.remote(42), /no item 42 in the catalogue/);
      await page.goto(`${web}/ui/calls?phase=failed`);
      const row = page.locator('tr[data-phase="failed"]');
      await row.waitFor();
      equal(await row.count(), 1);
      match(await row.innerText(), /failed\s+.*dashdemo\s+fails\s+session/s);
      await shot("calls-failed");
      await row.locator("a").click();
      await page.locator("#call-phase .phase-failed").waitFor();
      match(await page.locator("#call-error").innerText(), /RangeError: no item 42 in the catalogue/);
      const stack = await page.locator("#call-stack").innerText();
      match(stack, /RangeError: no item 42 in the catalogue/);
      match(stack, /lookUp .*dashboard_app\.ts:\d+/);
      ok(!stack.includes(server!.dataDir), "the stack shows the user's file names, not the server's");
      await shot("call-failed");
    });

    await t.step("the overview counts the calls and charts rates, latencies and executors", async () => {
      await page.getByRole("link", { name: "Overview" }).click();
      await page.waitForURL(`${web}/`);
      await page.locator("#counters", { hasText: /Finished\s*2\s*Failed\s*1/ }).waitFor();
      await page.locator('table.calls tr[data-phase="failed"]').waitFor();
      const paths = await page.locator("figure.chart path.line").evaluateAll((lines) =>
        lines.map((line) => line.getAttribute("d") ?? "")
      );
      equal(paths.length, 5);
      for (const d of paths) match(d, /^M[\d.]+ [\d.]+(L[\d.]+ [\d.]+){200,}$/);
      // The executors chart went above zero while the call ran.
      const labels = await page.locator("figure.chart svg").evaluateAll((svgs) =>
        svgs.map((svg) => svg.getAttribute("aria-label") ?? "")
      );
      match(labels[2], /^Executors over the last 5 minutes; now: executors \d+; peak [1-9]/);
      const failed = await fetch(`${web}/api/calls?phase=failed`, {
        headers: { authorization: `Bearer ${server!.token}` },
      }).then((answer) => answer.json());
      deepStrictEqual(
        failed.calls.map((c: { function: string }) => c.function),
        ["fails"],
        "the API, with a bearer token",
      );
      await shot("overview");
    });

    await t.step("logging out ends the session, live streams included", async () => {
      const [cookie] = await context.cookies();
      await page.getByRole("button", { name: "Log out" }).click();
      await page.waitForURL(`${web}/login`);
      // The other tabs' streams end within a second, and they go to the login.
      await executors.waitForURL(/\/login\?next=%2Fui%2Fexecutors$/);
      await logs.waitForURL(/\/login\?next=%2Fui%2Flogs%2Fdashdemo$/);
      const stale = await fetch(`${web}/api/me`, { headers: { cookie: `${cookie.name}=${cookie.value}` } });
      await stale.body?.cancel();
      equal(stale.status, 401, "the old session id no longer works");
      await page.goto(`${web}/ui/executors`);
      await page.waitForURL(/\/login\?next=%2Fui%2Fexecutors$/);
    });

    await t.step("named tokens: invoke-only is refused; an admin token's session ends when it is revoked", async () => {
      const admin = new Client({ server: server!.address, token: server!.token, onLog: () => {} });
      const other = await browser!.newContext();
      other.setDefaultTimeout(10_000);
      other.on("request", (request) => requested.push(request.url()));
      try {
        const invoker = await admin.createToken("caller", ["invoke"]);
        const ops = await admin.createToken("ops", ["admin"]);
        const tab = await other.newPage();
        await tab.goto(`${web}/ui/executors`);
        await tab.getByLabel("Token").fill(invoker);
        const [refused] = await Promise.all([
          tab.waitForResponse((response) =>
            response.url().endsWith("/login") && response.request().method() === "POST"
          ),
          tab.getByRole("button", { name: "Log in" }).click(),
        ]);
        equal(refused.status(), 403);
        match(await tab.getByRole("alert").innerText(), /"caller".*needs "admin"/);
        await tab.getByLabel("Token").fill(ops);
        await tab.getByRole("button", { name: "Log in" }).click();
        await tab.waitForURL(`${web}/ui/executors`);
        match(await tab.locator("form.who").innerText(), /Signed in as ops/);
        await tab.locator("#live-status[data-state=live]").waitFor();
        await admin.revokeToken("ops");
        await tab.waitForURL(/\/login\?next=%2Fui%2Fexecutors$/);
      } finally {
        await other.close();
        admin.close();
      }
    });

    await t.step("no page fetched anything outside loopback", () => {
      ok(requested.length > 20, `${requested.length} requests recorded`);
      const outside = requested.filter((url) => {
        const { protocol, hostname } = new URL(url);
        if (protocol === "data:" || protocol === "about:") return false;
        return !["127.0.0.1", "localhost", "[::1]"].includes(hostname);
      });
      deepStrictEqual(outside, []);
    });
  } finally {
    for (const close of closers) close();
    await browser?.close();
    gate.open("closing");
    await server?.stop();
    await gate.close();
  }
});

/** A loopback HTTP server whose answer waits until the test opens the gate. */
function startGate() {
  const arrived = Promise.withResolvers<void>();
  const opened = Promise.withResolvers<string>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    arrived.resolve();
    return new Response(await opened.promise);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    arrived: arrived.promise,
    open: (text: string) => opened.resolve(text),
    close: () => server.shutdown(),
  };
}
