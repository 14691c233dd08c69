/**
 * Output safety for every command that writes: where an output may go (not
 * a directory, not one of the input's files, its folder must exist), and a
 * registry of temp files in flight so a signal handler can remove them.
 */
import { rmSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ModelpressError } from '../core/errors.js';

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Refuses an output path before any work: E_ARG if it is a directory (or a
 * symlink to one), E_NOT_FOUND if its folder does not exist (outputs never
 * create folders), E_ARG if its folder is not a directory.
 */
export function checkOutputTarget(output: string): void {
  const st = statOrUndefined(output);
  if (st?.isDirectory())
    throw new ModelpressError('E_ARG', '--output names a directory; give the path of the file to write', { file: output });
  const dir = dirname(resolve(output));
  const dirSt = statOrUndefined(dir);
  if (!dirSt) throw new ModelpressError('E_NOT_FOUND', `the output folder ${dir} does not exist (it is not created)`, { file: output });
  if (!dirSt.isDirectory()) throw new ModelpressError('E_ARG', `the output's parent ${dir} is not a directory`, { file: output });
}

/** Whether two paths name the same file: same device and inode when both exist (links, `..`), else the same resolved path. */
export function sameFile(a: string, b: string): boolean {
  const sa = statOrUndefined(a);
  const sb = statOrUndefined(b);
  if (sa && sb) return sa.dev === sb.dev && sa.ino === sb.ino;
  return resolve(a) === resolve(b);
}

/**
 * E_ARG when any of `outputs` is one of `inputs` (every file an input
 * consists of: the model, its external data or shards, datasets ...), so
 * no command overwrites what it reads. Also checks each output's target.
 */
export function checkOutputs(outputs: readonly string[], inputs: readonly string[]): void {
  for (const out of outputs) {
    checkOutputTarget(out);
    for (const input of inputs)
      if (sameFile(out, input))
        throw new ModelpressError('E_ARG', `--output must differ from the input: it would overwrite the input file ${input}`, {
          file: out,
        });
  }
}

const liveTemps = new Set<string>();
let beforeFirstTemp: (() => void) | undefined;

/**
 * Runs `f` once, just before the first temp file of the process is
 * registered (the CLI installs its signal handlers there, so a signal during
 * the synchronous work before any output ends the process at once).
 */
export function onFirstTemp(f: () => void): void {
  beforeFirstTemp = f;
}

/** Records a temp file being written (removed by removeLiveTemps on a signal). */
export function registerTemp(path: string): void {
  const first = beforeFirstTemp;
  beforeFirstTemp = undefined;
  first?.();
  liveTemps.add(path);
}

/** The temp was renamed into place or removed. */
export function unregisterTemp(path: string): void {
  liveTemps.delete(path);
}

/** Removes every temp file still being written (synchronously; for signal handlers). Returns how many were removed. */
export function removeLiveTemps(): number {
  let n = 0;
  for (const t of liveTemps) {
    try {
      rmSync(t, { force: true });
      n++;
    } catch {
      /* best effort while exiting */
    }
  }
  liveTemps.clear();
  return n;
}
