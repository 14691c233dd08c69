/**
 * The one error type modelpress throws for bad input. `code` is stable and
 * documented in docs/CLI.md; `file` names the input the problem was found in.
 */
export type ErrorCode =
  | 'E_ARG' // a bad option or argument
  | 'E_IO' // a file could not be read or written
  | 'E_NOT_FOUND' // a file, tensor or dataset does not exist
  | 'E_FORMAT' // the content is not of any format we read
  | 'E_TRUNCATED' // the content ends before a declared length
  | 'E_CORRUPT' // the content contradicts itself (offsets overlap, lengths disagree, bad field)
  | 'E_CHECKSUM' // a stored checksum does not match
  | 'E_UNSUPPORTED' // well-formed, but uses something we do not handle
  | 'E_LIMIT' // a declared size beyond a decoder limit (--max-output, chunk size, the coder's best ratio)
  | 'E_SHAPE' // shapes or dtypes do not fit together
  | 'E_GRAPH' // a graph that cannot be processed (unknown op on a path, cycle, ...)
  | 'E_FIDELITY'; // the result misses a fidelity guard (--min-snr); exit 1, nothing written

export class ModelpressError extends Error {
  readonly code: ErrorCode;
  readonly file: string | undefined;

  constructor(code: ErrorCode, message: string, options: { file?: string; cause?: unknown } = {}) {
    super(options.file ? `${options.file}: ${message}` : message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ModelpressError';
    this.code = code;
    this.file = options.file;
  }

  /** The same error, now naming `file` (used when a parser that saw only bytes is called on a path). */
  withFile(file: string): ModelpressError {
    if (this.file) return this;
    const e = new ModelpressError(this.code, this.message, { file, cause: this.cause });
    e.stack = this.stack;
    return e;
  }
}

export function isModelpressError(e: unknown): e is ModelpressError {
  return e instanceof ModelpressError;
}

/** Throws E_CORRUPT/E_TRUNCATED style errors compactly inside parsers. */
export function fail(code: ErrorCode, message: string, file?: string): never {
  throw new ModelpressError(code, message, file === undefined ? {} : { file });
}
