/** B2 baseline: a bare `deno run` that only waits for stdin to close (at once when stdin is null). */
await Deno.stdin.readable.pipeTo(new WritableStream({ start: () => console.log("ready") }));
