import {
  coreServices,
  createBackendModule,
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
  type SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import { ospClientServiceRef } from '@osp/backstage-client';
import { OspEntityProvider } from './provider';

/** Poll every 30 seconds unless `catalog.providers.osp.schedule` says otherwise. */
export const DEFAULT_SCHEDULE: SchedulerServiceTaskScheduleDefinition = {
  frequency: { seconds: 30 },
  timeout: { minutes: 2 },
};

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
        client: ospClientServiceRef,
      },
      async init({ catalog, config, logger, scheduler, client }) {
        const key = 'catalog.providers.osp.schedule';
        const schedule = config.has(key)
          ? readSchedulerServiceTaskScheduleDefinitionFromConfig(config.getConfig(key))
          : DEFAULT_SCHEDULE;
        catalog.addEntityProvider(
          new OspEntityProvider({
            client,
            logger,
            taskRunner: scheduler.createScheduledTaskRunner(schedule),
          }),
        );
      },
    });
  },
});
