/**
 * Errors of the execution engine, each naming the value or node at fault and
 * what to do about it.
 *
 * @module
 */

/** A graph the engine cannot run, or a call it cannot honour. */
export class EngineError extends Error {
  /** The value or node concerned, when there is one. */
  readonly subject: string | undefined;

  /** Builds the error; `subject` names the value or node at fault. */
  constructor(message: string, subject?: string) {
    super(message);
    this.name = "EngineError";
    this.subject = subject;
  }
}
