import {
  coreServices,
  createServiceFactory,
  createServiceRef,
} from '@backstage/backend-plugin-api';
import { createOspClient, type OspClient } from './client';
import { readOspClientOptions } from './options';

/**
 * The sidecar client as a Backstage service. Root-scoped, so the catalog
 * and the scaffolder share one HTTP/2 connection; tests replace it with
 * `createServiceFactory({ service: ospClientServiceRef, … })`.
 */
export const ospClientServiceRef = createServiceRef<OspClient>({
  id: 'osp.client',
  scope: 'root',
  defaultFactory: async service =>
    createServiceFactory({
      service,
      deps: { config: coreServices.rootConfig, logger: coreServices.rootLogger },
      factory({ config, logger }) {
        const options = readOspClientOptions(config);
        logger.info(`osp sidecar client for ${options.address}`);
        return createOspClient(options);
      },
    }),
});
