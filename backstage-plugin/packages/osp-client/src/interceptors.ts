import type { Interceptor } from '@connectrpc/connect';
import { context, propagation } from '@opentelemetry/api';
import { isUnavailable } from './errors';

/** Sends `authorization: Bearer …` when a token is configured. */
export function bearerToken(token: () => string | undefined): Interceptor {
  return next => async req => {
    const value = token();
    if (value) {
      req.header.set('authorization', `Bearer ${value}`);
    }
    return next(req);
  };
}

/**
 * Propagates the active trace (`traceparent`, `tracestate`) with the
 * propagator the Backstage backend registered with OpenTelemetry; a no-op
 * without one.
 */
export function traceContext(): Interceptor {
  return next => async req => {
    propagation.inject(context.active(), req.header, {
      set: (headers, key, value) => headers.set(key, value),
    });
    return next(req);
  };
}

/**
 * Retries unary calls the sidecar answered with UNAVAILABLE (starting up,
 * cluster not yet synced, connection refused), with exponential backoff.
 * Every call is safe to repeat: publishing is idempotent by key and apply is
 * a server-side apply.
 */
export function retryUnavailable(
  maxAttempts: number,
  backoffMs: number,
): Interceptor {
  return next => async req => {
    if (req.stream) {
      return next(req);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await next(req);
      } catch (e) {
        if (!isUnavailable(e) || attempt >= maxAttempts) {
          throw e;
        }
        await sleep(backoffMs * 2 ** (attempt - 1), req.signal);
      }
    }
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
