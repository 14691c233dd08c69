#!/usr/bin/env node
/**
 * The modelpress CLI: parses argv with commander, runs one command, maps
 * errors to a message naming the file and problem and a non-zero exit code.
 */
import { Command, CommanderError } from 'commander';
import { isModelpressError } from '../core/errors.js';
import { commands } from './commands/index.js';
import { onFirstTemp, removeLiveTemps } from '../node/output.js';
import { processIO, safeIO, type CliIO } from './io.js';

export const VERSION = '0.1.0';

export function buildProgram(io: CliIO): Command {
  const program = new Command('modelpress')
    .description('Compress, encode and evaluate the parameters of trained models (ONNX, safetensors, TF.js).')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  for (const register of commands) register(program, io);
  return program;
}

/** Runs the CLI on `argv` (without node and script path); resolves to the exit code. */
export async function run(argv: readonly string[], rawIO: CliIO = processIO()): Promise<number> {
  const io = safeIO(rawIO);
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (isModelpressError(e)) {
      io.stderr(`modelpress: error [${e.code}]: ${e.message}\n`);
      return e.code === 'E_ARG' ? 2 : 1;
    }
    io.stderr(`modelpress: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 70;
  }
}

const invokedDirectly =
  typeof process !== 'undefined' && process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
/**
 * SIGINT/SIGTERM: remove the temp files of writes in flight (the previous
 * output, if any, is untouched because outputs are renamed into place only
 * when complete) and exit 128 + signal number (130, 143). The handlers are
 * installed when the first output write begins: before that nothing has been
 * written, and a JavaScript handler would only run once the synchronous work
 * in progress (decoding, coding, training steps) returns, so Ctrl-C would
 * not stop a long pack or a hostile .mpz; the default action ends it at once.
 */
export function installSignalHandlers(): void {
  onFirstTemp(() => {
    for (const [signal, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      process.on(signal, () => {
        removeLiveTemps();
        process.exit(code);
      });
    }
  });
}

if (invokedDirectly) {
  installSignalHandlers();
  run(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
