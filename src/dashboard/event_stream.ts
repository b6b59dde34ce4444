/**
 * A Server-Sent Events response: named JSON events to one browser, ended by the browser hanging
 * up, the server closing, or the sender; a browser that cannot keep up is cut off (it reconnects
 * and starts again from a fresh snapshot).
 */
import { dashboardHeaders } from "./dashboard_responses.ts";

/** Where a stream's events go. */
export interface EventSink {
  /** Sends one event; false once the stream has ended. */
  send(event: string, data: unknown): boolean;
  /** Sends a comment line (a keep-alive). */
  comment(text: string): void;
  /** Ends the stream. */
  close(): void;
  readonly closed: boolean;
}

/** Bytes queued for a slow browser before it is cut off. */
const maxQueuedBytes = 8 * 1024 * 1024;

/**
 * Starts a stream: `start` wires its sources to the sink and returns what undoes that, which runs
 * once when the stream ends for any reason. Any of `stop` aborting ends it too.
 *
 * @example
 * ```ts
 * return eventStream([request.signal, closing], (sink) => {
 *   const timer = setInterval(() => sink.send("tick", { now: Date.now() }), 1000);
 *   return () => clearInterval(timer);
 * });
 * ```
 */
export function eventStream(stop: AbortSignal[], start: (sink: EventSink) => () => void): Response {
  const encoder = new TextEncoder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let cleanup: (() => void) | undefined;
  let closed = false;

  const end = (closeBody: boolean) => {
    if (closed) return;
    closed = true;
    for (const signal of stop) signal.removeEventListener("abort", onStop);
    cleanup?.();
    if (closeBody) {
      try {
        controller.close();
      } catch {
        // Already closed or errored.
      }
    }
  };
  const onStop = () => end(true);

  const body = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      cancel() {
        end(false);
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }),
  );

  const write = (text: string): boolean => {
    if (closed) return false;
    if ((controller.desiredSize ?? 0) < -maxQueuedBytes) {
      end(true);
      return false;
    }
    controller.enqueue(encoder.encode(text));
    return true;
  };
  const sink: EventSink = {
    send: (event, data) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
    comment: (text) => void write(`: ${text.replace(/\n/g, " ")}\n\n`),
    close: () => end(true),
    get closed() {
      return closed;
    },
  };

  // A browser that lost the stream tries again after two seconds.
  write("retry: 2000\n\n");
  const undo = start(sink);
  if (closed) undo();
  else cleanup = undo;
  for (const signal of stop) {
    if (signal.aborted) {
      end(true);
      break;
    }
    signal.addEventListener("abort", onStop, { once: true });
  }
  return new Response(body, { headers: dashboardHeaders("text/event-stream; charset=utf-8") });
}
