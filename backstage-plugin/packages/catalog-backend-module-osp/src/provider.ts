import type {
  LoggerService,
  SchedulerServiceTaskRunner,
} from '@backstage/backend-plugin-api';
import {
  ANNOTATION_LOCATION,
  ANNOTATION_ORIGIN_LOCATION,
  type Entity,
} from '@backstage/catalog-model';
import type {
  DeferredEntity,
  EntityProvider,
  EntityProviderConnection,
} from '@backstage/plugin-catalog-node';
import {
  EntityEncoding,
  type ClusterState,
  type Entity as OspEntity,
  type GetDeltaResponse,
  type OspClient,
} from '@osp/backstage-client';

/** Entities per snapshot page; the sidecar allows up to 5000. */
const PAGE_SIZE = 1000;

/** How the provider follows `CatalogService.WatchChanges`. */
export interface OspWatchOptions {
  /** Follow the change stream. Defaults to true. */
  enabled?: boolean;
  /** First reconnect delay in milliseconds; doubles per failed attempt. Defaults to 250. */
  initialBackoffMs?: number;
  /** Largest reconnect delay in milliseconds. Defaults to 10000. */
  maxBackoffMs?: number;
}

export const DEFAULT_WATCH_INITIAL_BACKOFF_MS = 250;
export const DEFAULT_WATCH_MAX_BACKOFF_MS = 10_000;

/** What one streamed message asks the watch loop to do next. */
type Next = 'continue' | 'rewatch';

/**
 * Serves the Templates, APIs and Resources of the osp sidecar.
 *
 * The first snapshot (and any after the sidecar says `resync_needed`)
 * replaces the provider's entities with a full mutation; after that only
 * deltas are applied. Changes arrive two ways, applied one at a time and
 * never the same revision twice:
 *
 * - the change stream (`WatchChanges`, from the revision the catalog
 *   reflects), applied as soon as the sidecar sends them; when it fails it
 *   is reopened with capped exponential backoff and jitter;
 * - the scheduled poll (`GetDelta`), a safety net for a stream that is
 *   down or stuck.
 *
 * When the sidecar is unreachable or not ready, nothing is applied, so the
 * catalog keeps what it has.
 */
export class OspEntityProvider implements EntityProvider {
  private connection?: EntityProviderConnection;
  // The revision the catalog reflects; undefined until the first snapshot.
  private revision?: bigint;
  // Poll and stream application run one after the other, never interleaved.
  private queue: Promise<unknown> = Promise.resolve();
  private readonly stopping = new AbortController();
  private watching?: Promise<void>;
  private readonly stale = new Set<string>();

  constructor(
    private readonly options: {
      client: OspClient;
      logger: LoggerService;
      taskRunner?: SchedulerServiceTaskRunner;
      /** Provider name (also the location key). Defaults to `osp`. */
      name?: string;
      /** The change stream; on unless `enabled: false`. */
      watch?: OspWatchOptions;
      /** Stops the change stream when aborted (like {@link OspEntityProvider.stop}). */
      signal?: AbortSignal;
    },
  ) {
    options.signal?.addEventListener('abort', () => this.stopping.abort(), { once: true });
  }

  getProviderName(): string {
    return this.options.name ?? 'osp';
  }

  async connect(connection: EntityProviderConnection): Promise<void> {
    this.connection = connection;
    await this.options.taskRunner?.run({
      id: `${this.getProviderName()}:refresh`,
      fn: () => this.refresh(),
    });
    if (this.options.watch?.enabled !== false && !this.stopping.signal.aborted && !this.watching) {
      this.watching = this.watch(this.stopping.signal);
    }
  }

  /** Ends the change stream; resolves once it is closed. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.watching;
  }

  /** One poll. Never throws: a failed poll is retried on the next tick. */
  async refresh(): Promise<void> {
    if (!this.connection) {
      throw new Error(`${this.getProviderName()} is not connected`);
    }
    try {
      await this.exclusive(async () => {
        if (this.revision === undefined || !(await this.applyDelta(this.revision))) {
          await this.applySnapshot();
        }
      });
    } catch (e) {
      this.options.logger.warn(
        `${this.getProviderName()}: sidecar poll failed, keeping the catalog as it is: ${(e as Error).message}`,
      );
    }
  }

  /** Runs `fn` after everything queued before it, alone. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Follows the change stream until `signal` aborts: takes the first
   * snapshot itself if no poll has yet, reopens the stream after failures
   * with capped exponential backoff and jitter, and logs once per outage.
   */
  private async watch(signal: AbortSignal): Promise<void> {
    const name = this.getProviderName();
    const logger = this.options.logger;
    let failures = 0;
    let outageStart = 0;
    const progressed = () => {
      if (failures > 0) {
        const seconds = ((Date.now() - outageStart) / 1000).toFixed(1);
        logger.info(`${name}: change stream restored after ${failures} failed attempt(s) in ${seconds} s`);
        failures = 0;
      }
    };
    while (!signal.aborted) {
      try {
        await this.watchOnce(signal, progressed);
        continue; // re-watch at once (after a resync)
      } catch (e) {
        if (signal.aborted) break;
        const err = e as Error;
        if (err.name === 'NotImplementedError') {
          logger.warn(`${name}: the sidecar has no change stream (${err.message}); polling only`);
          return;
        }
        failures++;
        if (failures === 1) {
          outageStart = Date.now();
          logger.warn(
            `${name}: change stream failed, reconnecting with backoff (the scheduled poll continues): ${err.message}`,
          );
        } else {
          logger.debug(`${name}: change stream attempt ${failures} failed: ${err.message}`);
        }
      }
      await sleep(this.backoffMs(failures), signal);
    }
    logger.debug(`${name}: change stream stopped`);
  }

  /** A doubling delay, capped, with "equal jitter": uniform in its upper half. */
  private backoffMs(failures: number): number {
    const initial = Math.max(1, this.options.watch?.initialBackoffMs ?? DEFAULT_WATCH_INITIAL_BACKOFF_MS);
    const max = Math.max(initial, this.options.watch?.maxBackoffMs ?? DEFAULT_WATCH_MAX_BACKOFF_MS);
    const cap = Math.min(max, initial * 2 ** Math.min(failures - 1, 30));
    return cap / 2 + (Math.random() * cap) / 2;
  }

  /**
   * One stream, from the revision the catalog reflects (taking a snapshot
   * first if there is none). Resolves when the stream should be reopened
   * at once; rejects when it failed or ended.
   */
  private async watchOnce(signal: AbortSignal, progressed: () => void): Promise<void> {
    const since = await this.exclusive(async () => {
      if (this.revision === undefined) {
        await this.applySnapshot();
      }
      return this.revision!;
    });
    if (signal.aborted) return;
    const stream = new AbortController();
    const abort = () => stream.abort();
    signal.addEventListener('abort', abort, { once: true });
    try {
      // Each message is the delta since the previous one (the first: since `since`).
      let base = since;
      const changes = this.options.client.catalog.watchChanges(
        { sinceRevision: since, encoding: EntityEncoding.JSON },
        { signal: stream.signal },
      );
      for await (const { delta } of changes) {
        if (!delta) continue;
        const next = await this.exclusive(() => this.applyStreamed(base, delta));
        progressed();
        if (next === 'rewatch') return;
        base = delta.revision;
      }
      throw new Error('the sidecar ended the change stream');
    } finally {
      signal.removeEventListener('abort', abort);
      stream.abort();
    }
  }

  /** Applies one streamed delta (from `base`) unless a poll already did. */
  private async applyStreamed(base: bigint, delta: GetDeltaResponse): Promise<Next> {
    if (this.stopping.signal.aborted) {
      return 'rewatch';
    }
    if (delta.resyncNeeded) {
      this.options.logger.info(
        `${this.getProviderName()}: change stream needs a resync from revision ${base}, taking a snapshot`,
      );
      await this.applySnapshot();
      return 'rewatch';
    }
    this.reportClusters(delta.clusters);
    const current = this.revision!;
    if (base > current) {
      // Something between `current` and `base` was not applied (a snapshot
      // went back, say): start again from what the catalog reflects.
      return 'rewatch';
    }
    if (delta.revision <= current) {
      // A poll got there first.
      return 'continue';
    }
    await this.applyChanges(current, delta);
    return 'continue';
  }

  /**
   * Reads every page of one snapshot (they share its revision), then
   * replaces the provider's entities. Nothing is applied unless all pages
   * arrived: a partial full mutation would delete the rest.
   */
  private async applySnapshot() {
    const entities: DeferredEntity[] = [];
    let pageToken = '';
    let first;
    do {
      const page = await this.options.client.catalog.getSnapshot(
        { encoding: EntityEncoding.JSON, pageSize: PAGE_SIZE, pageToken },
        { signal: this.stopping.signal },
      );
      first ??= page;
      entities.push(...page.entities.map(e => this.deferred(e)));
      pageToken = page.nextPageToken;
    } while (pageToken);
    this.reportClusters(first.clusters);
    await this.connection!.applyMutation({ type: 'full', entities });
    this.revision = first.revision;
    this.options.logger.info(
      `${this.getProviderName()}: applied snapshot of ${entities.length} entities at revision ${first.revision}`,
    );
  }

  /** Applies the delta since `since`; false when a full resync is needed. */
  private async applyDelta(since: bigint): Promise<boolean> {
    const delta = await this.options.client.catalog.getDelta(
      { sinceRevision: since, encoding: EntityEncoding.JSON },
      { signal: this.stopping.signal },
    );
    if (delta.resyncNeeded) {
      this.options.logger.info(
        `${this.getProviderName()}: revision ${since} is too old, taking a snapshot`,
      );
      return false;
    }
    this.reportClusters(delta.clusters);
    if (delta.revision > since) {
      await this.applyChanges(since, delta);
    }
    return true;
  }

  /**
   * Applies a delta whose changes start at or before `current` (a delta
   * since an older revision holds every later change, so applying it on a
   * newer state still yields `delta.revision`), then advances the revision.
   */
  private async applyChanges(current: bigint, delta: GetDeltaResponse) {
    if (delta.upserted.length > 0 || delta.removed.length > 0) {
      await this.connection!.applyMutation({
        type: 'delta',
        added: delta.upserted.map(e => this.deferred(e)),
        removed: delta.removed.map(entityRef => ({
          entityRef,
          locationKey: this.locationKey(),
        })),
      });
      this.options.logger.info(
        `${this.getProviderName()}: applied delta ${current}→${delta.revision}: ${delta.upserted.length} upserted, ${delta.removed.length} removed`,
      );
    }
    this.revision = delta.revision;
  }

  private deferred(e: OspEntity): DeferredEntity {
    // JSON text when asked for; a Struct from older sidecars.
    const entity = (e.json ? JSON.parse(e.json) : structuredClone(e.entity ?? {})) as Entity;
    const location = `osp:${this.getProviderName()}`;
    // The catalog rejects provider entities without both annotations.
    entity.metadata = {
      ...entity.metadata,
      annotations: {
        ...entity.metadata?.annotations,
        [ANNOTATION_LOCATION]: location,
        [ANNOTATION_ORIGIN_LOCATION]: location,
      },
    };
    return { entity, locationKey: this.locationKey() };
  }

  private locationKey() {
    return `osp:${this.getProviderName()}`;
  }

  /** Logs when a cluster becomes unreachable and when it is back (not on every delta). */
  private reportClusters(clusters: ClusterState[]) {
    for (const c of clusters) {
      if (c.stale && !this.stale.has(c.name)) {
        this.stale.add(c.name);
        this.options.logger.warn(
          `${this.getProviderName()}: cluster ${c.name} is unreachable, serving its last known state: ${c.message}`,
        );
      } else if (!c.stale && this.stale.delete(c.name)) {
        this.options.logger.info(`${this.getProviderName()}: cluster ${c.name} is reachable again`);
      }
    }
  }
}

/** Waits `ms`, or less when `signal` aborts; never rejects. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
