/** The import scanner finds what a shipped module imports. */
import { deepStrictEqual, equal } from "node:assert/strict";
import { importSpecifiers, isLocalSpecifier } from "../src/wire/import_specifiers.ts";
import { npmPackageName } from "../src/server/app_registration.ts";

Deno.test("static, re-export, side-effect and literal dynamic imports are found once each", () => {
  const source = `
import { App } from "stupid-modal";
import type { X } from './types.ts';
import {
  a,
  b,
} from "../lib/multi.ts";
export { c } from "./reexport.ts";
export * from "./star.ts";
import "./side_effect.ts";
const lazy = await import("npm:is-number@7.0.0");
const again = await import("./side_effect.ts");
const computed = await import(name);
const notAnImport = reimport("./nope.ts");
`;
  deepStrictEqual(importSpecifiers(source).sort(), [
    "../lib/multi.ts",
    "./reexport.ts",
    "./side_effect.ts",
    "./star.ts",
    "./types.ts",
    "npm:is-number@7.0.0",
    "stupid-modal",
  ]);
});

Deno.test("local specifiers are relative or file URLs", () => {
  equal(isLocalSpecifier("./a.ts"), true);
  equal(isLocalSpecifier("../a.ts"), true);
  equal(isLocalSpecifier("file:///a.ts"), true);
  equal(isLocalSpecifier("npm:x"), false);
  equal(isLocalSpecifier("stupid-modal"), false);
});

Deno.test("npm package names drop versions and subpaths", () => {
  equal(npmPackageName("npm:is-number@7.0.0"), "is-number");
  equal(npmPackageName("npm:@grpc/grpc-js@1.14.7/build"), "@grpc/grpc-js");
  equal(npmPackageName("npm:cbor-x/encode"), "cbor-x");
  equal(npmPackageName("npm:/lodash@4"), "lodash");
});
