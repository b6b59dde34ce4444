/** The web port's base URL, from the line a test server prints at start. */
import { ok } from "node:assert/strict";
import type { TestServer } from "./test_server.ts";

/** `http://127.0.0.1:PORT` (or https) of `web endpoints on …/apps/<app>/<function>`. */
export function webUrl(server: TestServer): string {
  const line = server.output.find((line) => line.startsWith("web endpoints on "));
  ok(line, `the server printed no web address:\n${server.output.join("\n")}`);
  const match = /^web endpoints on (https?:\/\/[^/]+)\/apps\/<app>\/<function>$/.exec(line);
  ok(match, line);
  return match[1];
}
