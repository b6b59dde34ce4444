/** Finds which module called into the SDK, from the call stack: that module ships with the app. */

const sdkDirectory = new URL("./", import.meta.url).href;

/** The file URL of the first stack frame outside the SDK's own folder. */
export function definingModule(): string {
  const stack = new Error().stack ?? "";
  for (const match of stack.matchAll(/(file:\/\/\/[^\s)]+?):\d+:\d+/g)) {
    if (!match[1].startsWith(sdkDirectory)) return match[1];
  }
  throw new TypeError("cannot tell which module defined this function: define it in a local file");
}
