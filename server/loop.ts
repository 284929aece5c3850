import type { Logger } from './log.ts';

/**
 * Runs one role's `runOnce` every `intervalMs`, never two passes at once; a failed pass is logged and the
 * next tick tries again. `stop` waits for the pass in progress.
 */
export function startLoop<S>(name: string, intervalMs: number, log: Logger, runOnce: () => Promise<S>, onPass?: (s: S) => void): { stop(): Promise<void>; kick(): void } {
  let running: Promise<unknown> = Promise.resolve();
  let busy = false;
  let stopped = false;
  const tick = () => {
    if (busy || stopped) return;
    busy = true;
    running = runOnce()
      .then((s) => onPass?.(s))
      .catch((err) => log.error(`${name} pass failed`, { error: String((err as Error)?.stack ?? err) }))
      .finally(() => {
        busy = false;
      });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    kick: tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
