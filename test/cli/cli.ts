/** Runs the CLI in-process and collects its exit code, stdout and stderr. */
import { memoryIO } from '../../src/cli/io.js';
import { run } from '../../src/cli/main.js';

export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIO();
  const code = await run(argv, io);
  return { code, out: io.out, err: io.err };
}
