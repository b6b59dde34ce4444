/**
 * Debian's Chromium, headless, driven by playwright-core, for browser tests: installed with apt-get when missing (as
 * root), started with the flags the machine notes give, in a fresh profile.
 */
import fs from "node:fs";
import { ensureDebianPackage } from "./debian_package.ts";
import type { Browser } from "playwright-core";

const chromiumPath = "/usr/bin/chromium";
/** No sandbox as root, and no background traffic to Google (refused here, and slow to fail). */
const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Launches headless Chromium; throws a clear error when it is missing and cannot be installed.
 *
 * @example
 * ```ts
 * const browser = await launchChromium();
 * const page = await browser.newPage();
 * await browser.close();
 * ```
 */
export async function launchChromium(): Promise<Browser> {
  await ensureChromium();
  const { chromium } = await loadPlaywright();
  return await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
}

/**
 * playwright-core asks at load whether it runs under WSL with `fs.existsSync("/proc/…")`, which Deno 2.9 answers by
 * throwing NotCapable unless the process has --allow-all (the test task does not). Such a path is answered "no"
 * instead, then the module is loaded.
 */
function loadPlaywright(): Promise<typeof import("playwright-core")> {
  const existsSync = fs.existsSync;
  if (!Object.hasOwn(existsSync, "procTolerant")) {
    const tolerant = (path: fs.PathLike): boolean => {
      try {
        return existsSync(path);
      } catch (err) {
        if (String(path).startsWith("/proc/") && err instanceof Deno.errors.NotCapable) return false;
        throw err;
      }
    };
    Object.defineProperty(tolerant, "procTolerant", { value: true });
    fs.existsSync = tolerant;
  }
  return import("playwright-core");
}

async function ensureChromium(): Promise<void> {
  await ensureDebianPackage(chromiumPath, "chromium");
}
