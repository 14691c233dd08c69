/**
 * Progress bars for long commands. They draw on stderr, and only when stderr
 * is a terminal (io.isTTY): piped output, --json and tests see nothing.
 */
import cliProgress from 'cli-progress';
import { type CliIO, terminalSafe } from './io.js';

export interface Progress {
  /** Sets the completed amount (same unit as `total`). */
  update(value: number): void;
  increment(delta?: number): void;
  /** Removes the bar; safe to call more than once. */
  stop(): void;
}

const noProgress: Progress = { update() {}, increment() {}, stop() {} };

/** A bar labelled `label` counting up to `total` (e.g. tensors or bytes); a no-op unless io.isTTY. */
export function startProgress(io: CliIO, label: string, total: number): Progress {
  if (!io.isTTY || total <= 0) return noProgress;
  const bar = new cliProgress.SingleBar(
    {
      format: `${terminalSafe(label)} [{bar}] {percentage}% {value}/{total}`,
      stream: process.stderr,
      clearOnComplete: true,
      hideCursor: null,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  let stopped = false;
  return {
    update: (v) => bar.update(v),
    increment: (d = 1) => bar.increment(d),
    stop: () => {
      if (!stopped) bar.stop();
      stopped = true;
    },
  };
}
