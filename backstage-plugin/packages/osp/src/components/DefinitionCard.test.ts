/** @jest-environment jsdom */
// Without JSX: the workspace's jest transform parses TypeScript only.
import { cleanup, render, screen, within } from '@testing-library/react';
import { createElement as h } from 'react';
import type { Entity } from '@backstage/catalog-model';
import type { OspDefinitionJson } from '@osp/plugin-osp-common';
import type { OspApi } from '../api/OspApi';
import { OspDefinitionCard, OspDefinitionView } from './DefinitionCard';
import { isOspDefinition } from './isOspDefinition';

const api: jest.Mocked<OspApi> = { getResourceStatus: jest.fn(), getDefinition: jest.fn(), previewClaim: jest.fn(), deleteResource: jest.fn() };
jest.mock('../api/useOspApi', () => ({ useOspApi: () => api }));
const templateEntity: Entity = {
  apiVersion: 'scaffolder.backstage.io/v1beta3',
  kind: 'Template',
  metadata: { name: 'xpostgresqlinstances', annotations: { 'osp.dev/definition': 'xpostgresqlinstances.database.example.org' } },
};
// The catalog's React package is ESM only; the card needs only useEntity.
jest.mock('@backstage/plugin-catalog-react', () => ({ useEntity: () => ({ entity: templateEntity }) }));

afterEach(cleanup);

const definition: OspDefinitionJson = {
  entityRef: 'template:default/xpostgresqlinstances.database.example.org',
  definition: 'xpostgresqlinstances.database.example.org',
  kind: 'xrd',
  group: 'database.example.org',
  targetKind: 'PostgreSQLInstance',
  version: 'v1beta1',
  versions: ['v1alpha1', 'v1beta1'],
  clusters: [
    { name: 'prod', compositions: ['postgres-aws', 'postgres-gcp'] },
    { name: 'staging', compositions: [] },
  ],
};

describe('OspDefinitionView', () => {
  it('lists the clusters with their Compositions and the versions, the offered one marked', () => {
    render(h(OspDefinitionView, { definition }));
    const clusters = within(screen.getByRole('list', { name: 'Clusters' })).getAllByRole('listitem').map(li => li.textContent);
    expect(clusters).toEqual(['prod — Compositions: postgres-aws, postgres-gcp', 'staging — no Composition known']);
    expect(screen.getByTestId('osp-versions').textContent).toBe('Versions: v1alpha1, v1beta1 (offered)');
    expect(screen.getByText('PostgreSQLInstance (database.example.org)')).toBeTruthy();
  });

  it('says so when no cluster serves it, and shows a failure', () => {
    render(h(OspDefinitionView, { definition: { ...definition, clusters: [] }, error: new Error('sidecar unavailable') }));
    expect(screen.getByText('No cluster serves it at the moment.')).toBeTruthy();
    expect(screen.getByRole('alert').textContent).toBe('Could not read the definition: sidecar unavailable');
  });
});

describe('OspDefinitionCard', () => {
  it('asks the backend about its own entity', async () => {
    api.getDefinition.mockResolvedValue(definition);
    render(h(OspDefinitionCard));
    await screen.findByRole('list', { name: 'Clusters' });
    expect(api.getDefinition).toHaveBeenCalledWith('template:default/xpostgresqlinstances', expect.anything());
  });
});

describe('isOspDefinition', () => {
  const entity = (kind: string, annotations: Record<string, string>): Entity => ({
    apiVersion: 'backstage.io/v1alpha1',
    kind,
    metadata: { name: 'x', annotations },
  });
  it.each([
    ['an osp Template', entity('Template', { 'osp.dev/definition': 'd' }), true],
    ['an osp API', entity('API', { 'osp.dev/definition': 'd' }), true],
    ['a Template of someone else', entity('Template', {}), false],
    ['a Resource', entity('Resource', { 'osp.dev/definition': 'd' }), false],
  ])('%s', (_reason, e, want) => {
    expect(isOspDefinition(e)).toBe(want);
  });
});
