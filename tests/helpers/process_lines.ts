/** Reads a child process's output line by line, as it comes. */

/**
 * Calls `onLine` for each complete line of a byte stream (and a last unterminated one).
 *
 * @example
 * ```ts
 * await forEachLine(child.stdout, (line) => console.log(line));
 * ```
 */
export async function forEachLine(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) onLine(line);
  }
  if (buffered) onLine(buffered);
}
