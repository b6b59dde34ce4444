/**
 * A session's calls whose arguments arrive in pieces (`args_size` larger than the first piece,
 * the rest in ArgsChunks): kept until whole, within the payload limit, and at most twice that
 * arriving at once per session.
 */
import { Code, StupidModalError } from "../wire/errors.ts";
import type { CallMessage } from "../wire/proto.ts";
import type { Bytes } from "../wire/value_chunks.ts";

/** What one more piece made of its call. */
export type PieceResult =
  /** Still arriving, or no such call (refused or cancelled meanwhile): nothing to do. */
  | { state: "waiting" }
  /** Whole: the call, and its arguments (pieces to be written one after the other, if they came so). */
  | { state: "whole"; message: CallMessage; args: Bytes }
  /** Refused: the call is dropped and fails with this. */
  | { state: "refused"; error: StupidModalError };

interface Assembling {
  message: CallMessage;
  pieces: Uint8Array[];
  received: number;
}

/**
 * The calls of one session still receiving their arguments.
 *
 * @example
 * ```ts
 * const assembly = new ArgsAssembly(maxPayloadBytes);
 * const first = assembly.begin(call); // "whole" at once when args_size is not larger than args
 * const next = assembly.add(chunk.call_id, chunk.data);
 * ```
 */
export class ArgsAssembly {
  #maxPayloadBytes: number;
  #calls = new Map<number, Assembling>();
  #bytes = 0;

  constructor(maxPayloadBytes: number) {
    this.#maxPayloadBytes = maxPayloadBytes;
  }

  /** Whether call `callId` is still receiving its arguments. */
  has(callId: number): boolean {
    return this.#calls.has(callId);
  }

  /** The ids of the calls still receiving their arguments. */
  ids(): number[] {
    return [...this.#calls.keys()];
  }

  /** Takes a new call: whole at once, or kept for its pieces (refused when it announces too many bytes). */
  begin(message: CallMessage): PieceResult {
    const size = message.args_size ?? 0;
    if (size <= message.args.byteLength) return { state: "whole", message, args: message.args };
    if (size > this.#maxPayloadBytes) {
      const error = new StupidModalError(
        Code.RESOURCE_EXHAUSTED,
        `arguments are ${size} bytes, over the server's limit of ${this.#maxPayloadBytes} bytes`,
      );
      return { state: "refused", error };
    }
    this.#calls.set(message.call_id, { message, pieces: [], received: 0 });
    return this.add(message.call_id, message.args);
  }

  /** One more piece of call `callId`'s arguments. */
  add(callId: number, data: Uint8Array): PieceResult {
    const call = this.#calls.get(callId);
    if (!call) return { state: "waiting" };
    call.pieces.push(data);
    call.received += data.byteLength;
    this.#bytes += data.byteLength;
    const size = call.message.args_size!;
    let error: StupidModalError | undefined;
    if (call.received > size) {
      error = new StupidModalError(
        Code.INVALID_ARGUMENT,
        `call ${callId}'s argument chunks come to more than its args_size of ${size} bytes`,
      );
    } else if (this.#bytes > 2 * this.#maxPayloadBytes) {
      error = new StupidModalError(
        Code.RESOURCE_EXHAUSTED,
        `over ${2 * this.#maxPayloadBytes} bytes of arguments are arriving at once on this session`,
      );
    }
    if (error) {
      this.drop(callId);
      return { state: "refused", error };
    }
    if (call.received < size) return { state: "waiting" };
    this.drop(callId);
    return { state: "whole", message: call.message, args: call.pieces };
  }

  /** Forgets a call still receiving its arguments; false if there was none. */
  drop(callId: number): boolean {
    const call = this.#calls.get(callId);
    if (!call) return false;
    this.#calls.delete(callId);
    this.#bytes -= call.received;
    return true;
  }

  /** Forgets them all (the session is gone). */
  clear(): void {
    this.#calls.clear();
    this.#bytes = 0;
  }
}
