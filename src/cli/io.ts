/** Where a command writes: stdout for results (clean JSON with --json), stderr for progress and errors. */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stderr is a terminal (progress bars only then). */
  readonly isTTY: boolean;
}

export function processIO(): CliIO {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    isTTY: Boolean(process.stderr.isTTY),
  };
}

/** Collects output in memory; for tests that run commands in-process. */
export function memoryIO(): CliIO & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    isTTY: false,
    stdout(t: string) {
      io.out += t;
    },
    stderr(t: string) {
      io.err += t;
    },
  };
  return io;
}

/**
 * Text made safe for a terminal: C0 control characters (except newline and
 * tab), DEL and C1 controls are shown as escapes instead of being sent raw,
 * so a tensor or file name cannot retitle the terminal or clear the screen.
 * C0 and DEL print as `\x1b`; C1 as `\u009b`, which inside a JSON string is a
 * valid escape of the same character, so JSON output stays exact JSON
 * (JSON.stringify already escapes C0 itself).
 */
export function terminalSafe(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => {
    const code = c.charCodeAt(0);
    const hex = code.toString(16).padStart(2, '0');
    return code >= 0x80 ? `\\u00${hex}` : `\\x${hex}`;
  });
}

/** `io` with every write passed through terminalSafe (the CLI's output never carries raw control characters). */
export function safeIO(io: CliIO): CliIO {
  return { stdout: (t) => io.stdout(terminalSafe(t)), stderr: (t) => io.stderr(terminalSafe(t)), isTTY: io.isTTY };
}
