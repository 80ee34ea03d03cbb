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
  type OspClient,
} from '@osp/backstage-client';

/** Entities per snapshot page; the sidecar allows up to 5000. */
const PAGE_SIZE = 1000;

/**
 * Serves the Templates, APIs and Resources of the osp sidecar. The first
 * run (and any run after the sidecar says `resync_needed`) replaces the
 * provider's entities with a snapshot; later runs apply only the delta
 * since the last revision. When the sidecar is unreachable or not ready,
 * a run changes nothing, so the catalog keeps what it has.
 */
export class OspEntityProvider implements EntityProvider {
  private connection?: EntityProviderConnection;
  // The revision the catalog reflects; undefined until the first snapshot.
  private revision?: bigint;

  constructor(
    private readonly options: {
      client: OspClient;
      logger: LoggerService;
      taskRunner?: SchedulerServiceTaskRunner;
      /** Provider name (also the location key). Defaults to `osp`. */
      name?: string;
    },
  ) {}

  getProviderName(): string {
    return this.options.name ?? 'osp';
  }

  async connect(connection: EntityProviderConnection): Promise<void> {
    this.connection = connection;
    await this.options.taskRunner?.run({
      id: `${this.getProviderName()}:refresh`,
      fn: () => this.refresh(),
    });
  }

  /** One poll. Never throws: a failed poll is retried on the next tick. */
  async refresh(): Promise<void> {
    if (!this.connection) {
      throw new Error(`${this.getProviderName()} is not connected`);
    }
    try {
      if (this.revision === undefined || !(await this.applyDelta(this.revision))) {
        await this.applySnapshot();
      }
    } catch (e) {
      this.options.logger.warn(
        `${this.getProviderName()}: sidecar poll failed, keeping the catalog as it is: ${(e as Error).message}`,
      );
    }
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
      const page = await this.options.client.catalog.getSnapshot({
        encoding: EntityEncoding.JSON,
        pageSize: PAGE_SIZE,
        pageToken,
      });
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
    const delta = await this.options.client.catalog.getDelta({
      sinceRevision: since,
      encoding: EntityEncoding.JSON,
    });
    if (delta.resyncNeeded) {
      this.options.logger.info(
        `${this.getProviderName()}: revision ${since} is too old, taking a snapshot`,
      );
      return false;
    }
    this.reportClusters(delta.clusters);
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
        `${this.getProviderName()}: applied delta ${since}→${delta.revision}: ${delta.upserted.length} upserted, ${delta.removed.length} removed`,
      );
    }
    this.revision = delta.revision;
    return true;
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

  private reportClusters(clusters: ClusterState[]) {
    for (const c of clusters) {
      if (c.stale) {
        this.options.logger.warn(
          `${this.getProviderName()}: cluster ${c.name} is unreachable, serving its last known state: ${c.message}`,
        );
      }
    }
  }
}
