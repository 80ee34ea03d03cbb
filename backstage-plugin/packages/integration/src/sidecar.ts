import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { createOspClient } from '@osp/backstage-client';

/** The osp binary: `$OSP_BIN`, else `<repo>/target/debug/osp`. */
export const ospBin =
  process.env.OSP_BIN ?? resolve(__dirname, '../../../../target/debug/osp');

export const hasOspBin = existsSync(ospBin);

/**
 * Reports a missing prerequisite (the osp binary, the corpus): under CI
 * (`CI=true`) a failing test, locally a printed skip.
 */
export function describeOrSkip(available: boolean, why: string, name: string, fn: () => void) {
  if (available) {
    describe(name, fn);
  } else if (process.env.CI === 'true' || process.env.CI === '1') {
    describe(name, () => {
      it('has its prerequisites', () => {
        throw new Error(`${why}, and CI=true requires it`);
      });
    });
  } else {
    // eslint-disable-next-line no-console
    console.warn(`SKIPPED "${name}": ${why}`);
    describe.skip(name, fn);
  }
}

/** Tests that need the osp binary. */
export function describeWithSidecar(name: string, fn: () => void) {
  describeOrSkip(
    hasOspBin,
    `osp binary not found at ${ospBin} (build it with \`cargo build -p osp-sidecar --bin osp\` or set OSP_BIN)`,
    name,
    fn,
  );
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

/** A running `osp serve`, with its output kept for failure messages. */
export interface Sidecar {
  address: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `osp serve --from-dir <dir>` (plus `args`, e.g. `--config FILE`)
 * and waits until it reports SERVING.
 */
export async function startSidecar(fromDir: string, port?: number, args: string[] = []): Promise<Sidecar> {
  const address = `127.0.0.1:${port ?? (await freePort())}`;
  let output = '';
  const child: ChildProcess = spawn(
    ospBin,
    ['serve', '--listen', address, '--from-dir', fromDir, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
  );
  child.stdout!.on('data', d => (output += d));
  child.stderr!.on('data', d => (output += d));
  let exited = false;
  child.once('exit', () => (exited = true));
  const stop = async () => {
    if (exited) return;
    const gone = new Promise(r => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  };
  const client = createOspClient({ address, timeoutMs: 1000, maxAttempts: 1, retryBackoffMs: 0 });
  const deadline = Date.now() + 30_000;
  while (!(await client.ready())) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`osp serve did not become ready on ${address}:\n${output}`);
    }
    await new Promise(r => setTimeout(r, 100));
  }
  // The tail is enough to see why something failed.
  return { address, output: () => output.slice(-4000), stop };
}

/**
 * Which of the given RPCs (`/osp.v1.Service/Method`) the binary implements,
 * found synchronously so tests can be registered as skipped when not.
 */
export function implementedRpcs(fromDir: string, methods: string[]): Set<string> {
  if (!hasOspBin) return new Set();
  const out = spawnSync(process.execPath, [resolve(__dirname, 'probe.js'), ospBin, fromDir, ...methods], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  const codes = JSON.parse(out.stdout || '{}') as Record<string, number>;
  // 12 is UNIMPLEMENTED; -1 means no answer at all.
  return new Set(methods.filter(m => codes[m] !== undefined && codes[m] !== 12 && codes[m] !== -1));
}
