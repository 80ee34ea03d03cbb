import type { SchedulerServiceTaskScheduleDefinitionConfig } from '@backstage/backend-plugin-api';

export interface Config {
  catalog?: {
    providers?: {
      /** The Open Service Portal sidecar's entity provider. */
      osp?: {
        /**
         * How often to poll the sidecar for changes. The first poll (and
         * any poll after the sidecar asks for a resync) takes a full
         * snapshot; later polls fetch only the delta. Defaults to every 30
         * seconds with a 2 minute timeout.
         */
        schedule?: SchedulerServiceTaskScheduleDefinitionConfig;
      };
    };
  };
}
