import {
  coreServices,
  createBackendModule,
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
  type SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import type { Config } from '@backstage/config';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import { ospClientServiceRef } from '@osp/backstage-client';
import { OspEntityProvider, type OspWatchOptions } from './provider';

/**
 * Poll every 30 seconds unless `catalog.providers.osp.schedule` says
 * otherwise. With the change stream on, the poll is only a safety net for a
 * stream that is down, so it need not be frequent.
 */
export const DEFAULT_SCHEDULE: SchedulerServiceTaskScheduleDefinition = {
  frequency: { seconds: 30 },
  timeout: { minutes: 2 },
};

const PROVIDER_KEY = 'catalog.providers.osp';

/** Reads `catalog.providers.osp.watch`; every key is optional. */
export function readWatchOptions(config: Config): OspWatchOptions {
  const watch = config.getOptionalConfig(`${PROVIDER_KEY}.watch`);
  return {
    enabled: watch?.getOptionalBoolean('enabled'),
    initialBackoffMs: watch?.getOptionalNumber('initialBackoffMs'),
    maxBackoffMs: watch?.getOptionalNumber('maxBackoffMs'),
  };
}

/** Adds the {@link OspEntityProvider} to the catalog. */
export const catalogModuleOsp = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'osp',
  register(reg) {
    reg.registerInit({
      deps: {
        catalog: catalogProcessingExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        scheduler: coreServices.scheduler,
        lifecycle: coreServices.lifecycle,
        client: ospClientServiceRef,
      },
      async init({ catalog, config, logger, scheduler, lifecycle, client }) {
        const key = `${PROVIDER_KEY}.schedule`;
        const schedule = config.has(key)
          ? readSchedulerServiceTaskScheduleDefinitionFromConfig(config.getConfig(key))
          : DEFAULT_SCHEDULE;
        const provider = new OspEntityProvider({
          client,
          logger,
          taskRunner: scheduler.createScheduledTaskRunner(schedule),
          watch: readWatchOptions(config),
        });
        catalog.addEntityProvider(provider);
        // Close the change stream before the backend stops, or shutdown
        // would wait on it.
        lifecycle.addShutdownHook(() => provider.stop());
      },
    });
  },
});
