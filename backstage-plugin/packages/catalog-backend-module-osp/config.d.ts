import type { SchedulerServiceTaskScheduleDefinitionConfig } from '@backstage/backend-plugin-api';

export interface Config {
  catalog?: {
    providers?: {
      /** The Open Service Portal sidecar's entity provider. */
      osp?: {
        /**
         * How often to poll the sidecar for changes, a safety net beside the
         * change stream. The first poll (and any poll after the sidecar asks
         * for a resync) takes a full snapshot; later polls fetch only the
         * delta. Defaults to every 30 seconds with a 2 minute timeout.
         */
        schedule?: SchedulerServiceTaskScheduleDefinitionConfig;
        /**
         * The change stream (`CatalogService.WatchChanges`): a change in a
         * cluster or a watched folder reaches the catalog as soon as the
         * sidecar sees it, instead of on the next poll.
         */
        watch?: {
          /** Follow the change stream. Defaults to true. */
          enabled?: boolean;
          /**
           * First delay before reopening a failed stream, in milliseconds;
           * it doubles per failed attempt (with jitter). Defaults to 250.
           */
          initialBackoffMs?: number;
          /** Largest reopen delay, in milliseconds. Defaults to 10000. */
          maxBackoffMs?: number;
        };
      };
    };
  };
}
