import { readFileSync } from 'node:fs';
import type { Config } from '@backstage/config';

/** How to reach the sidecar; see config.d.ts for each field's meaning. */
export interface OspClientOptions {
  /** `host:port`, or an `http://` / `https://` URL. */
  address: string;
  /** Returns the bearer token to send, or undefined for none. */
  token?: () => string | undefined;
  /** Deadline of each attempt, in milliseconds. */
  timeoutMs: number;
  /** Attempts per call when the sidecar answers UNAVAILABLE. */
  maxAttempts: number;
  /** Delay before the first retry; doubles per attempt. */
  retryBackoffMs: number;
}

export const DEFAULT_ADDRESS = '127.0.0.1:50051';

/** Reads `osp.sidecar.*` from Backstage config, with defaults. */
export function readOspClientOptions(config: Config): OspClientOptions {
  const sidecar = config.getOptionalConfig('osp.sidecar');
  const token = sidecar?.getOptionalString('token');
  const tokenFile = sidecar?.getOptionalString('tokenFile');
  return {
    address: sidecar?.getOptionalString('address') ?? DEFAULT_ADDRESS,
    token: tokenReader(token, tokenFile),
    timeoutMs: sidecar?.getOptionalNumber('timeoutMs') ?? 10_000,
    maxAttempts: sidecar?.getOptionalNumber('retry.maxAttempts') ?? 4,
    retryBackoffMs: sidecar?.getOptionalNumber('retry.backoffMs') ?? 200,
  };
}

function tokenReader(token?: string, tokenFile?: string) {
  if (token) {
    return () => token;
  }
  if (tokenFile) {
    // Read on every call: projected tokens are rotated on disk.
    return () => readFileSync(tokenFile, 'utf8').trim() || undefined;
  }
  return undefined;
}

/** The base URL the gRPC transport wants. */
export function baseUrlOf(address: string): string {
  return /^https?:\/\//.test(address) ? address : `http://${address}`;
}
