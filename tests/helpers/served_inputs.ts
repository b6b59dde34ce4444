/**
 * Counting what a server's output says ran: a line per call ("call app.fn 1.2ms ok"), and for the
 * inputs of a map a summary line now and then ("map app.fn 512 ok (mean 1.3ms)").
 */

/** Lines of `output` about function `label` ("app.fn"): each call's own, and the maps' summaries. */
export function servedLines(output: string[], label: string): { calls: string[]; summaries: string[] } {
  const call = `call ${label} `;
  const summary = `map ${label} `;
  return {
    calls: output.filter((line) => line.startsWith(call)),
    summaries: output.filter((line) => line.startsWith(summary)),
  };
}

/** How many inputs of `label` succeeded, by their own lines and their maps' summaries. */
export function succeeded(output: string[], label: string): number {
  const { calls, summaries } = servedLines(output, label);
  let count = calls.filter((line) => line.endsWith(" ok")).length;
  for (const line of summaries) count += summaryCount(line);
  return count;
}

/**
 * How many inputs of the functions whose label starts with `prefix` ("app.") the output accounts
 * for: every call line, whatever its outcome, and every success a summary counts.
 */
export function accountedFor(output: string[], prefix: string): number {
  let count = 0;
  for (const line of output) {
    if (line.startsWith(`call ${prefix}`)) count++;
    else if (line.startsWith(`map ${prefix}`)) count += summaryCount(line);
  }
  return count;
}

function summaryCount(line: string): number {
  const match = line.match(/^map \S+ (\d+) ok \(mean [\d.]+ms\)$/);
  if (!match) throw new Error(`not a summary line: ${line}`);
  return Number(match[1]);
}
