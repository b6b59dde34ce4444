/** Waiting on the remote log lines a fixture app dispatches as "line" events (its `remoteLines`). */

/** Resolves with the next line on `lines` that equals `pattern` (a string) or matches it (a RegExp). */
export function nextLine(lines: EventTarget, pattern: string | RegExp): Promise<string> {
  const matches = (line: string) => typeof pattern === "string" ? line === pattern : pattern.test(line);
  return new Promise((resolve) => {
    const listener: EventListener = (event) => {
      const line = (event as CustomEvent<string>).detail;
      if (!matches(line)) return;
      lines.removeEventListener("line", listener);
      resolve(line);
    };
    lines.addEventListener("line", listener);
  });
}
