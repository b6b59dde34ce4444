/** Defining functions: stable names, duplicates refused, bad names explained. */
import { equal, throws } from "node:assert/strict";
import { App } from "../mod.ts";

Deno.test("a function is known by its own name or the name option", () => {
  const app = new App("definition-names");
  equal(
    app.function({}, function add(a: number, b: number) {
      return a + b;
    }).name,
    "add",
  );
  equal(app.function({ name: "renamed" }, (a: number) => a).name, "renamed");
});

Deno.test("two functions with one name in one app are an error naming the fix", () => {
  const app = new App("definition-duplicates");
  app.function({}, function twice() {
    return 1;
  });
  throws(() =>
    app.function({}, function twice() {
      return 2;
    }), /already has a function named "twice".*`name` option/);
});

Deno.test("names that cannot identify a function or app are refused", () => {
  throws(() => new App("has space"), /app name "has space"/);
  throws(() => new App(""), /app name ""/);
  const app = new App("definition-bad-names");
  throws(() => app.function({}, (() => (x: number) => x)()), /not an identifier: name the function/);
  throws(() => app.function({ name: "a-b" }, (x: number) => x), /"a-b" is not an identifier/);
});

Deno.test("limits must be positive whole numbers", () => {
  const app = new App("definition-limits");
  throws(() => app.function({ timeoutMs: 1.5 }, function a() {}), /timeoutMs of "a" must be a whole number/);
  throws(() => app.function({ memoryMb: -1 }, function b() {}), /memoryMb of "b" must be a whole number/);
  throws(() => app.function({ timeoutMs: 2 ** 31 }, function c() {}), /timeoutMs of "c"/);
});

Deno.test("local runs the function in this process with its own types", async () => {
  const app = new App("definition-local");
  const greet = app.function({ name: "greet" }, (name: string) => `hi ${name}`);
  equal(greet.name, "greet");
  equal(await greet.local("there"), "hi there");
});
