import { createElement as h } from 'react';
import {
  ApiBlueprint,
  createFrontendPlugin,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/frontend-plugin-api';
import { EntityCardBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { FormFieldBlueprint } from '@backstage/plugin-scaffolder-react/alpha';
import { ospApiRef } from './api/OspApi';
import { OspClient } from './api/OspClient';
import { isOspDefinition } from './components/isOspDefinition';
import { isOspResource } from './components/isOspResource';

/** `api:osp`: the {@link OspClient} over discovery and fetch. @public */
export const ospApi = ApiBlueprint.make({
  params: defineParams =>
    defineParams({
      api: ospApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: deps => new OspClient(deps),
    }),
});

/**
 * `entity-card:osp/resource-status`: the live status card, on the pages of
 * the Resource entities the osp catalog provider emits.
 *
 * @public
 */
export const ospResourceStatusEntityCard = EntityCardBlueprint.make({
  name: 'resource-status',
  params: {
    type: 'content',
    filter: isOspResource,
    loader: () => import('./components/ResourceStatusCard').then(m => h(m.OspResourceStatusCard, {})),
  },
});

/**
 * `entity-card:osp/definition`: where the definition behind an osp Template
 * or API is offered (clusters, Compositions, versions).
 *
 * @public
 */
export const ospDefinitionEntityCard = EntityCardBlueprint.make({
  name: 'definition',
  params: {
    type: 'info',
    filter: isOspDefinition,
    loader: () => import('./components/DefinitionCard').then(m => h(m.OspDefinitionCard, {})),
  },
});

/** `scaffolder-form-field:osp/claim-preview`: the `OspClaimPreview` field. @public */
export const ospClaimPreviewFormField = FormFieldBlueprint.make({
  name: 'claim-preview',
  params: {
    field: () => import('./components/formField').then(m => m.ospClaimPreviewField),
  },
});

/**
 * The `osp` frontend plugin, for `createApp({ features: [...] })`.
 *
 * @public
 */
export const ospPlugin = createFrontendPlugin({
  pluginId: 'osp',
  extensions: [ospApi, ospResourceStatusEntityCard, ospDefinitionEntityCard, ospClaimPreviewFormField],
});

