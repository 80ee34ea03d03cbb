import { useEffect, useRef, useState } from 'react';

/** What {@link usePolling} holds: the last answer and the last failure. */
export interface Polled<T> {
  value?: T;
  error?: Error;
  loading: boolean;
}

/**
 * Calls `load` now and every `intervalMs` after each answer (never two at
 * once). A failure keeps the last value on screen next to the error, so a
 * sidecar restart does not blank the card. Stops on unmount or key change;
 * while the page is hidden, only the first load runs.
 */
export function usePolling<T>(
  key: string,
  load: (signal: AbortSignal) => Promise<T>,
  intervalMs: number,
): Polled<T> {
  const [state, setState] = useState<Polled<T>>({ loading: true });
  // The latest `load`, so a re-render's closure is used without restarting.
  const latest = useRef(load);
  latest.current = load;
  const latestValue = useRef<T | undefined>(undefined);
  latestValue.current = state.value;
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState({ loading: true });
    const tick = async () => {
      // A background tab skips its turns: nobody reads the card there.
      if (typeof document !== 'undefined' && document.hidden && latestValue.current !== undefined) {
        timer = setTimeout(tick, intervalMs);
        return;
      }
      try {
        const value = await latest.current(controller.signal);
        if (!controller.signal.aborted) setState({ value, loading: false });
      } catch (e) {
        if (!controller.signal.aborted) {
          setState(prev => ({ value: prev.value, error: e as Error, loading: false }));
        }
      }
      if (!controller.signal.aborted && intervalMs > 0) {
        timer = setTimeout(tick, intervalMs);
      }
    };
    tick();
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
    };
  }, [key, intervalMs]);
  return state;
}
