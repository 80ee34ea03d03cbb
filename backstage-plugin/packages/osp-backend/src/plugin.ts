import { coreServices, createBackendPlugin } from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { ospClientServiceRef } from '@osp/backstage-client';
import { ospPermissions } from '@osp/plugin-osp-common';
import { createRouter } from './router';

/**
 * The `osp` backend plugin: `GET /api/osp/resources/status` and
 * `POST /api/osp/claims/preview`, answered by the osp sidecar (configured
 * under `osp.sidecar`, shared with the catalog and scaffolder modules).
 *
 * @public
 */
export const ospPlugin = createBackendPlugin({
  pluginId: 'osp',
  register(env) {
    env.registerInit({
      deps: {
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        userInfo: coreServices.userInfo,
        catalog: catalogServiceRef,
        client: ospClientServiceRef,
      },
      async init({ httpRouter, httpAuth, permissions, permissionsRegistry, userInfo, catalog, client }) {
        // Listed so policies and the permission UI know them.
        permissionsRegistry.addPermissions(ospPermissions);
        httpRouter.use(await createRouter({ client, catalog, httpAuth, permissions, userInfo }));
      },
    });
  },
});
