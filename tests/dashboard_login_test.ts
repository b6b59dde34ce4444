/**
 * Refused dashboard logins are limited per client address: the eleventh refusal within a minute
 * from one address turns into 429 with Retry-After, even for a good token, while other addresses
 * log in as ever. The throttle's window, checked with a clock of its own.
 */
import { equal, match, ok } from "node:assert/strict";
import { LoginThrottle } from "../src/dashboard/login_throttle.ts";
import { startTestServer } from "./helpers/test_server.ts";
import { webUrl } from "./helpers/web_url.ts";

Deno.test("the login throttle counts refusals per address within its window", () => {
  const throttle = new LoginThrottle(3, 1000);
  for (const at of [0, 10, 20]) {
    equal(throttle.waitMs("a", at), 0);
    throttle.refused("a", at);
  }
  equal(throttle.waitMs("a", 500), 500, "the oldest refusal leaves the window at 1000");
  equal(throttle.waitMs("b", 500), 0, "another address is not held back");
  equal(throttle.waitMs("a", 1000), 0);
  throttle.refused("a", 1000);
  equal(throttle.waitMs("a", 1005), 5, "three in the window again: wait for the one made at 10");
  throttle.succeeded("a");
  equal(throttle.waitMs("a", 1005), 0, "a login clears the address's refusals");
});

Deno.test("too many refused dashboard logins from one address are answered 429", async () => {
  const server = await startTestServer();
  try {
    const web = webUrl(server);
    const login = (token: string) =>
      fetch(`${web}/login`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token, next: "/" }),
        redirect: "manual",
      });
    for (let i = 0; i < 10; i++) {
      const refused = await login(`wrong-${i}`);
      equal(refused.status, 401, `try ${i + 1}`);
      await refused.body?.cancel();
    }
    const held = await login("wrong-again");
    equal(held.status, 429);
    const wait = Number(held.headers.get("retry-after"));
    ok(wait > 0 && wait <= 60, `Retry-After: ${wait}`);
    match(await held.text(), /Too many refused logins from your address; try again in \d+ s/);
    const good = await login(server.token);
    equal(good.status, 429, "the good token waits too: its answer would tell a guesser it was right");
    await good.body?.cancel();

    // Another loopback address (curl binds its end to 127.0.0.2) is not held back.
    const other = await new Deno.Command("curl", {
      args: [
        "-sS",
        "--interface",
        "127.0.0.2",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--data-urlencode",
        `token=${server.token}`,
        "--data-urlencode",
        "next=/",
        `${web}/login`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    equal(new TextDecoder().decode(other.stdout), "303", new TextDecoder().decode(other.stderr));
  } finally {
    await server.stop();
  }
});
