/**
 * Peak resident memory while a model runs. onnxruntime-node's run blocks the
 * event loop, so a timer alone misses peaks; we sample RSS after every run
 * (callers pass `sample` as evaluate's afterRun) and on a timer, and we also
 * read the kernel's lifetime peak (resourceUsage().maxRSS): if it rose during
 * the window, the peak happened while we watched and is counted.
 */

export interface RssMonitor {
  /** Records the current RSS. */
  sample(): void;
  /** Stops the timer; returns the peak RSS in bytes seen while monitoring. */
  stop(): number;
}

/** Starts watching resident memory; `intervalMs` (default 10) is the timer period. */
export function startRssMonitor(intervalMs = 10): RssMonitor {
  const maxRssAtStart = process.resourceUsage().maxRSS;
  let peak = process.memoryUsage.rss();
  const sample = () => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  };
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  let stopped = false;
  return {
    sample,
    stop() {
      if (!stopped) {
        clearInterval(timer);
        sample();
        // maxRSS is in kilobytes (KiB) on Linux.
        const maxRss = process.resourceUsage().maxRSS;
        if (maxRss > maxRssAtStart) peak = Math.max(peak, maxRss * 1024);
        stopped = true;
      }
      return peak;
    },
  };
}
