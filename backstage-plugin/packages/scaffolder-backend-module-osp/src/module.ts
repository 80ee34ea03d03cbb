import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { ospClientServiceRef } from '@osp/backstage-client';
import { createApplyClaimAction } from './actions/apply';
import { createDeleteClaimAction } from './actions/delete';
import { createPublishClaimAction } from './actions/publish';
import { createRenderClaimAction } from './actions/render';

/**
 * Registers `osp:claim:render`, `osp:claim:publish`, `osp:claim:delete` and
 * `osp:claim:apply`.
 */
export const scaffolderModuleOsp = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'osp',
  register(reg) {
    reg.registerInit({
      deps: {
        scaffolder: scaffolderActionsExtensionPoint,
        client: ospClientServiceRef,
        userInfo: coreServices.userInfo,
      },
      async init({ scaffolder, client, userInfo }) {
        scaffolder.addActions(
          createRenderClaimAction({ client, userInfo }),
          createPublishClaimAction({ client, userInfo }),
          createDeleteClaimAction({ client, userInfo }),
          createApplyClaimAction({ client, userInfo }),
        );
      },
    });
  },
});
