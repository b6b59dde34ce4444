/**
 * Web endpoints: a deployed app's `web` functions over HTTP on the server's web port, JSON in and out, with the
 * server's token as a bearer header; the README's curl examples; every error status; cancellation on hang-up.
 */
import { deepStrictEqual, equal, match, ok, throws } from "node:assert/strict";
import { Client } from "../client.ts";
import { parseServerArgs } from "../src/server/server_config.ts";
import { toJsonValue } from "../src/server/json_value.ts";
import { startTestServer, type TestServer } from "./helpers/test_server.ts";
import { webUrl } from "./helpers/web_url.ts";

const repoRoot = new URL("../", import.meta.url).pathname;
const deployApp = new URL("./fixtures/deploy_app.ts", import.meta.url).pathname;
const fixture = "tests/fixtures/web_app.ts";
/** The web URL the README's examples use; the test puts its server's in its place. */
const readmeUrl = "http://127.0.0.1:8080";

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(command: string, args: string[], env: Record<string, string>, stdin?: string): Promise<Ran> {
  const child = new Deno.Command(command, {
    args,
    cwd: repoRoot,
    env,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    // curl may stop reading once the server has refused the body.
    await writer.write(new TextEncoder().encode(stdin)).catch(() => {});
    await writer.close().catch(() => {});
  }
  const output = await child.output();
  const decoder = new TextDecoder();
  return { code: output.code, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
}

/** Deploys the `app` a module exports, from a separate caller process as a user would. */
async function deploy(server: TestServer, module: string): Promise<void> {
  const env = { STUPID_MODAL_SERVER: server.address, STUPID_MODAL_TOKEN: server.token, NO_COLOR: "1" };
  const permissions = ["--no-prompt", "--allow-net=127.0.0.1", "--allow-read", "--allow-env"];
  const { code, stdout, stderr } = await run(Deno.execPath(), ["run", ...permissions, deployApp, module], env);
  equal(code, 0, `deploying ${module} failed:\n${stdout}${stderr}`);
}

/** Resolves once `fn` of the shop app has printed `text` (its app logs, followed), then stops following. */
async function printed(server: TestServer, fn: string, text: string): Promise<void> {
  const client = new Client({ server: server.address, token: server.token, onLog: () => {} });
  const following = new AbortController();
  try {
    for await (const entry of client.appLogs({ app_name: "shop", follow: true, tail: 1 }, following.signal)) {
      if (entry.function === fn && entry.text === text) return;
    }
  } finally {
    following.abort();
    client.close();
  }
}

interface Answer {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  json: any;
}

/** One request; the answer's body parsed as JSON (every answer of the web port is JSON). */
async function request(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  equal(response.headers.get("content-type"), "application/json", text);
  return { status: response.status, headers: response.headers, json: JSON.parse(text) };
}

/** The README's console block of the web endpoints section: each `$ curl …` command and what it prints. */
async function readmeExamples(): Promise<{ command: string; expected: string }[]> {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const section = readme.slice(readme.indexOf("\n## Web endpoints\n"));
  const block = /```console\n([\s\S]*?)```/.exec(section.slice(0, section.indexOf("\n## ", 1)));
  ok(block, "the README's web endpoints section has no console block");
  const examples: { command: string; expected: string }[] = [];
  let continued = false;
  for (const line of block[1].split("\n").slice(0, -1)) {
    if (line.startsWith("$ ")) examples.push({ command: line.slice(2), expected: "" });
    else if (continued) examples.at(-1)!.command += "\n" + line;
    else examples.at(-1)!.expected += line + "\n";
    continued = line.endsWith("\\");
  }
  return examples;
}

Deno.test("web endpoints serve a deployed app's web functions over HTTP, JSON in and out", async (t) => {
  // A small payload limit, so that a body over it is cheap to send.
  const server = await startTestServer(["--max-payload-mb=1"]);
  try {
    const web = webUrl(server);
    const auth = { authorization: `Bearer ${server.token}` };
    const json = { ...auth, "content-type": "application/json" };
    const post = (fn: string, body: BodyInit, headers: Record<string, string> = json) =>
      request(`${web}/apps/shop/${fn}`, { method: "POST", headers, body });
    await deploy(server, fixture);

    await t.step("the README's curl examples print what the README says", async () => {
      const examples = await readmeExamples();
      equal(examples.length, 3);
      for (const { command, expected } of examples) {
        ok(command.startsWith("curl "), command);
        const env = { STUPID_MODAL_TOKEN: server.token, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };
        const ran = await run("sh", ["-c", command.replaceAll(readmeUrl, web)], env);
        equal(ran.code, 0, `${command}\n${ran.stderr}`);
        equal(ran.stdout, expected, command);
      }
    });

    await t.step("POST with a JSON array of arguments answers 200 with the result's JSON", async () => {
      const answer = await post("total", "[4, 0.25]");
      equal(answer.status, 200);
      equal(answer.json, 1);
      match(answer.headers.get("x-stupid-modal-call-id") ?? "", /^web-[0-9a-f-]{36}$/);
    });

    await t.step("a body that is not JSON is a 400 with a JSON error, and the next request is served", async () => {
      const answer = await post("total", "[3, ");
      equal(answer.status, 400);
      equal(answer.json.error.code, "INVALID_ARGUMENT");
      match(answer.json.error.message, /^the request body is not JSON: /);
      equal((await post("total", "[3, 5]")).json, 15);
    });

    await t.step("a body that is not an array of arguments is a 400", async () => {
      const answer = await post("total", '{"quantity": 3}');
      equal(answer.status, 400);
      equal(
        answer.json.error.message,
        "the request body must be a JSON array of the function's arguments, like [3, 5]; got an object",
      );
      const notText = await post("total", new Uint8Array([0x5b, 0xff, 0x5d]));
      equal(notText.status, 400);
      equal(notText.json.error.message, "the request body is not UTF-8 text");
    });

    await t.step("no token, or a wrong one, is a 401 with a Bearer challenge", async () => {
      const missing = await post("total", "[1, 2]", { "content-type": "application/json" });
      equal(missing.status, 401);
      equal(missing.headers.get("www-authenticate"), `Bearer realm="stupid-modal"`);
      deepStrictEqual(missing.json, {
        error: { code: "UNAUTHENTICATED", message: "missing bearer token (header `Authorization: Bearer <token>`)" },
      });
      const wrong = await post("total", "[1, 2]", { authorization: "Bearer wrong" });
      equal(wrong.status, 401);
      equal(wrong.headers.get("www-authenticate"), `Bearer realm="stupid-modal", error="invalid_token"`);
      deepStrictEqual(wrong.json, { error: { code: "UNAUTHENTICATED", message: "wrong token" } });
      // Before anything else: an unknown app is not revealed to a caller without the token.
      equal((await request(`${web}/apps/nope/total`, { method: "POST", body: "[]" })).status, 401);
    });

    await t.step("an unknown app, function or path, and a function without web, are 404", async () => {
      const unknownApp = await request(`${web}/apps/nope/total`, { method: "POST", headers: auth });
      equal(unknownApp.status, 404);
      deepStrictEqual(unknownApp.json, { error: { code: "NOT_FOUND", message: `no app named "nope" is deployed` } });
      const unknownFunction = await post("nope", "[]");
      equal(unknownFunction.status, 404);
      match(unknownFunction.json.error.message, /^app "shop" has no function "nope"; its web endpoints: total, quote/);
      const notWeb = await post("internal", "[]");
      equal(notWeb.status, 404);
      match(notWeb.json.error.message, /^function "internal" of app "shop" is not a web endpoint/);
      // "/" and "/ui/…" are the dashboard's (tests/dashboard_test.ts).
      for (const path of ["/apps/shop", "/apps/shop/total/more", "/dashboard"]) {
        const answer = await request(`${web}${path}`, { headers: auth });
        equal(answer.status, 404, path);
        equal(answer.json.error.code, "NOT_FOUND", path);
      }
    });

    await t.step("the other method than the endpoint's is a 405 naming the right one in Allow", async () => {
      const getOnPost = await request(`${web}/apps/shop/total`, { headers: auth });
      equal(getOnPost.status, 405);
      equal(getOnPost.headers.get("allow"), "POST");
      equal(getOnPost.json.error.message, "shop.total answers POST requests, not GET");
      const postOnGet = await post("quote", '["tea"]');
      equal(postOnGet.status, 405);
      equal(postOnGet.headers.get("allow"), "GET");
    });

    await t.step("a Content-Type that is not JSON is a 415; none, or a +json one, is accepted", async () => {
      const form = await post("total", "[1, 2]", { ...auth, "content-type": "application/x-www-form-urlencoded" });
      equal(form.status, 415);
      equal(form.json.error.code, "INVALID_ARGUMENT");
      const none = await fetch(`${web}/apps/shop/total`, { method: "POST", headers: auth, body: new Blob(["[1, 2]"]) });
      equal(none.headers.get("content-type"), "application/json");
      equal(await none.text(), "2\n");
      equal(
        (await post("total", "[2, 2]", { ...auth, "content-type": "application/vnd.x+json; charset=utf-8" })).json,
        4,
      );
      // An empty body is no arguments.
      deepStrictEqual((await post("total", "")).json, null);
    });

    await t.step("a function that throws is a 500 with its remote error", async () => {
      const answer = await post("fails", "[7]");
      equal(answer.status, 500);
      equal(answer.json.error.code, "UNKNOWN");
      equal(answer.json.error.message, "RangeError: no item 7");
      const { name, message, stack, cause } = answer.json.error.remote;
      equal(name, "RangeError");
      equal(message, "no item 7");
      match(stack, /^ +at fails \(file:\/\/.*\/tests\/fixtures\/web_app\.ts:\d+:\d+\)$/m);
      deepStrictEqual(cause, { sku: 7 });
    });

    await t.step("a GET endpoint takes its arguments as ?args=<JSON array>", async () => {
      const args = encodeURIComponent(JSON.stringify(["cake", 2]));
      const answer = await request(`${web}/apps/shop/quote?args=${args}`, { headers: auth });
      equal(answer.status, 200);
      deepStrictEqual(answer.json, { item: "cake", quantity: 2, price: 7 });
      const bad = await request(`${web}/apps/shop/quote?args=tea`, { headers: auth });
      equal(bad.status, 400);
      match(bad.json.error.message, /^the query parameter args is not JSON/);
      const unpriced = await request(`${web}/apps/shop/quote?args=${encodeURIComponent('["pie"]')}`, { headers: auth });
      equal(unpriced.status, 500);
      equal(unpriced.json.error.remote.message, "no price for pie");
    });

    await t.step("results that JSON cannot show are converted by fixed rules", async () => {
      const answer = await post("shapes", "[]");
      equal(answer.status, 200);
      deepStrictEqual(answer.json, {
        byName: { a: 1, b: 2 },
        byNumber: [[1, "one"], [[2], "two"]],
        big: "1180591620717411303424",
        bytes: [0, 1, 255],
        bigs: ["-1"],
        floats: [0.5],
        set: ["x", "y"],
        when: "1970-01-01T00:00:00.000Z",
        pattern: "/a+b/gi",
        missing: null,
        holes: [1, null, null, null, null],
      });
    });

    await t.step("a result that contains itself is a 500 INTERNAL naming where", async () => {
      const answer = await post("cyclic", "[]");
      equal(answer.status, 500);
      deepStrictEqual(answer.json, {
        error: { code: "INTERNAL", message: "the result cannot be shown as JSON: result.self contains itself" },
      });
    });

    await t.step("a generator marked web is refused at registration, naming it", async () => {
      const refused = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", deployApp, "tests/fixtures/web_generator_app.ts"],
        cwd: repoRoot,
        env: { STUPID_MODAL_SERVER: server.address, STUPID_MODAL_TOKEN: server.token },
        stdout: "null",
        stderr: "piped",
      }).output();
      equal(refused.code, 1);
      match(
        new TextDecoder().decode(refused.stderr),
        /function "tokens" is a generator; only plain functions can be web endpoints/,
      );
    });

    await t.step("a body over --max-payload-mb is a 413, by its Content-Length or while it streams", async () => {
      const big = "[" + "1,".repeat(600_000) + "1]"; // 1.2 MB of JSON, over 1 MiB
      const curl = (extra: string[]) =>
        run(
          "curl",
          [
            "-sS",
            "-w",
            "%{http_code}",
            "-H",
            `Authorization: Bearer ${server.token}`,
            "-H",
            "Content-Type: application/json",
            ...extra,
            "--data-binary",
            "@-",
            `${web}/apps/shop/total`,
          ],
          { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
          big,
        );
      for (const extra of [[], ["-H", "Transfer-Encoding: chunked"]]) {
        const { code, stdout, stderr } = await curl(extra);
        equal(code, 0, stderr);
        // The JSON answer ends its line; curl's -w adds the status after it.
        const [body, status] = stdout.split("\n");
        equal(status, "413", stdout);
        const { error } = JSON.parse(body);
        equal(error.code, "RESOURCE_EXHAUSTED");
        match(error.message, /^the request body is .*, over the server's limit of 1052672 bytes \(--max-payload-mb\)$/);
      }
      equal((await post("total", "[6, 7]")).json, 42);
    });

    await t.step("a client that hangs up cancels its call", async () => {
      const hangingUp = new AbortController();
      const started = printed(server, "hang", "hanging");
      const pending = fetch(`${web}/apps/shop/hang`, { method: "POST", headers: auth, signal: hangingUp.signal });
      await started;
      hangingUp.abort();
      await pending.then((response) => response.body?.cancel(), () => {});
      // Uncancelled, the call would end at its 30 s timeout instead.
      match(
        await server.waitForLine(/^call shop\.hang /),
        /^call shop\.hang [\d.]+ms CANCELLED: cancelled by the caller$/,
      );
      await server.waitForLine(/^web POST \/apps\/shop\/hang 499 [\d.]+ms$/);
    });

    await t.step("the server prints one line per web request", () => {
      ok(server.output.some((line) => /^web POST \/apps\/shop\/total 200 [\d.]+ms$/.test(line)), "a 200 line");
      ok(server.output.some((line) => /^web POST \/apps\/shop\/total 400 [\d.]+ms$/.test(line)), "a 400 line");
      ok(server.output.some((line) => /^web GET \/apps\/shop\/quote 200 [\d.]+ms$/.test(line)), "a GET line");
      ok(!server.output.some((line) => line.includes(server.token)), "the token is never printed");
    });

    await t.step("ListApps gives the web port", async () => {
      const client = new Client({ server: server.address, token: server.token });
      try {
        equal((await client.listApps()).web_port, Number(new URL(web).port));
      } finally {
        client.close();
      }
    });

    await t.step("a stopped app's endpoints are 404 until it is deployed again", async () => {
      const client = new Client({ server: server.address, token: server.token });
      try {
        await client.stopApp("shop");
      } finally {
        client.close();
      }
      const stopped = await post("total", "[1, 2]");
      equal(stopped.status, 404);
      equal(stopped.json.error.message, `app "shop" is stopped; deploy it again to serve it`);
      await deploy(server, fixture);
      equal((await post("total", "[1, 2]")).json, 2);
    });
  } finally {
    await server.stop();
  }
});

Deno.test("at shutdown, a web call still running past the grace period is answered 503", async () => {
  const server = await startTestServer(["--grace-ms=200"]);
  let stopped = false;
  try {
    const web = webUrl(server);
    await deploy(server, fixture);
    const started = printed(server, "hang", "hanging");
    const pending = request(`${web}/apps/shop/hang`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}` },
    });
    await started;
    const stopping = server.stop();
    stopped = true;
    const answer = await pending;
    equal(answer.status, 503);
    deepStrictEqual(answer.json, { error: { code: "UNAVAILABLE", message: "the server is shutting down" } });
    await stopping;
    ok(server.output.some((line) => /^web POST \/apps\/shop\/hang 503 [\d.]+ms$/.test(line)), server.output.join("\n"));
  } finally {
    if (!stopped) await server.stop();
  }
});

Deno.test("--web-port off serves no web endpoints, and ListApps says port 0", async () => {
  const server = await startTestServer(["--web-port=off"]);
  try {
    ok(!server.output.some((line) => line.startsWith("web endpoints on")), server.output.join("\n"));
    const client = new Client({ server: server.address, token: server.token });
    try {
      equal((await client.listApps()).web_port, 0);
    } finally {
      client.close();
    }
  } finally {
    await server.stop();
  }
});

Deno.test("--web-port: 0 by default (a free port), a number, or off", () => {
  const parse = (args: string[]) => {
    const config = parseServerArgs(args);
    if (config === "help") throw new Error("help");
    return config.webPort;
  };
  equal(parse([]), 0);
  equal(parse(["--web-port=8080"]), 8080);
  equal(parse(["--web-port", "off"]), undefined);
  throws(() => parse(["--web-port=-1"]), /--web-port must be an integer ≥ 0/);
});

Deno.test("toJsonValue: Maps by key type, keys that look special, shared references, views", () => {
  const shared = { n: 1 };
  const converted = toJsonValue({
    maps: [new Map(), new Map([["__proto__", 1]]), new Map<unknown, unknown>([[1n, new Set([undefined])]])],
    shared: [shared, shared],
    view: new DataView(new Uint8Array([1, 2, 3]).buffer, 1),
    buffer: new Uint8Array([9]).buffer,
    invalid: new Date(NaN),
    error: new TypeError("bad"),
    negativeZero: -0,
  });
  equal(
    JSON.stringify(converted),
    '{"maps":[{},{"__proto__":1},[["1",[null]]]],"shared":[{"n":1},{"n":1}],"view":[2,3],"buffer":[9],' +
      '"invalid":null,"error":{"name":"TypeError","message":"bad"},"negativeZero":0}',
  );
  const loop: unknown[] = [];
  loop.push(new Map([["k", loop]]));
  throws(() => toJsonValue(loop), /result\[0\]\.get\("k"\) contains itself/);
});
