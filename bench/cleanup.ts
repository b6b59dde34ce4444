/** Undo actions (stop a process, remove a folder) run once, last first, whatever went wrong. */

/**
 * A stack of undo actions.
 *
 * @example
 * ```ts
 * const cleanup = new Cleanup();
 * const dir = await Deno.makeTempDir();
 * cleanup.defer(() => Deno.remove(dir, { recursive: true }));
 * await cleanup.run();
 * ```
 */
export class Cleanup {
  #actions: (() => unknown)[] = [];
  #running: Promise<Error[]> | undefined;

  /** Adds an action; it runs before the ones added earlier. */
  defer(action: () => unknown): void {
    this.#actions.push(action);
  }

  /** Runs every action once, even when some fail; resolves with their errors. */
  run(): Promise<Error[]> {
    this.#running ??= (async () => {
      const errors: Error[] = [];
      while (this.#actions.length > 0) {
        try {
          await this.#actions.pop()!();
        } catch (err) {
          errors.push(err instanceof Error ? err : new Error(String(err)));
        }
      }
      return errors;
    })();
    return this.#running;
  }
}
