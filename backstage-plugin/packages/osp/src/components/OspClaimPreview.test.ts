/** @jest-environment jsdom */
// Without JSX: the workspace's jest transform parses TypeScript only.
import { act, cleanup, render, screen, within } from '@testing-library/react';
import { createElement as h } from 'react';
import type { createScaffolderFieldExtension } from '@backstage/plugin-scaffolder-react';
import type { OspApi } from '../api/OspApi';
import {
  OspClaimPreview,
  ospClaimPreviewFieldOptions,
  previewRequestOf,
  type OspClaimPreviewProps,
  type OspClaimPreviewUiOptions,
} from './OspClaimPreview';

const api: jest.Mocked<OspApi> = { getResourceStatus: jest.fn(), getDefinition: jest.fn(), previewClaim: jest.fn(), deleteResource: jest.fn() };
jest.mock('../api/useOspApi', () => ({ useOspApi: () => api }));

// Compile-time: the options fit the legacy createScaffolderFieldExtension.
type LegacyOptions = Parameters<typeof createScaffolderFieldExtension<unknown, OspClaimPreviewUiOptions>>[0];
const legacyOptions: LegacyOptions = ospClaimPreviewFieldOptions;

const definition = 'xpostgresqlinstances.database.example.org';

function props(formData: Record<string, unknown>, options: OspClaimPreviewUiOptions = { definition }): OspClaimPreviewProps {
  return {
    name: 'preview',
    schema: { type: 'null', title: 'Preview' },
    uiSchema: { 'ui:options': options },
    idSchema: { $id: 'root_preview' },
    formData: undefined,
    formContext: { formData },
    onChange: jest.fn(),
    rawErrors: [],
    registry: {},
  } as unknown as OspClaimPreviewProps;
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => {
  cleanup();
  jest.useRealTimers();
  api.previewClaim.mockReset();
});

describe('OspClaimPreview', () => {
  it('is named OspClaimPreview for the legacy system', () => {
    expect(legacyOptions.name).toBe('OspClaimPreview');
  });

  it('builds the request from the form data and the options', () => {
    expect(
      previewRequestOf(
        { definition },
        { name: 'db', namespace: 'team-a', spec: { parameters: { size: 2 } }, cluster: 'prod', owner: 'group:default/team-a' },
      ),
    ).toEqual({
      definition,
      name: 'db',
      namespace: 'team-a',
      values: { parameters: { size: 2 } },
      cluster: 'prod',
      owner: 'group:default/team-a',
    });
    expect(previewRequestOf({ definition, namespace: 'fixed', valuesField: 'values', nameField: 'n' }, { n: 'x', values: { a: 1 } })).toEqual({
      definition,
      name: 'x',
      namespace: 'fixed',
      values: { a: 1 },
      cluster: undefined,
      owner: undefined,
    });
    expect(previewRequestOf({}, {})).toBeUndefined();
  });

  it("resolves the render step's values against the form, moved fields included", () => {
    const values = {
      size: '${{ parameters.spec.size }}',
      network: { cidr: '${{ parameters.spec_network.network.cidr }}' },
      'x-odd': '${{ parameters.spec["x-odd"] }}',
      region: '${{ parameters.spec_advanced.region }}',
    };
    const form = { name: 'db', spec: { size: 'small', 'x-odd': 1 }, spec_network: { network: { cidr: '10.0.0.0/16' } } };
    expect(previewRequestOf({ definition, values }, form)?.values).toEqual({
      size: 'small',
      network: { cidr: '10.0.0.0/16' },
      'x-odd': 1,
    });
    expect(previewRequestOf({ definition, values: '${{ parameters.spec }}' }, form)?.values).toEqual(form.spec);
  });

  it('waits 400 ms after the last change, then shows every violation with its field path', async () => {
    api.previewClaim.mockResolvedValue({
      manifest: '',
      violations: [
        { field: 'spec.parameters.size', description: 'must be at least 1' },
        { field: 'spec.parameters', description: 'CEL: size must be even' },
      ],
      warnings: [],
      idempotencyKey: '',
      path: '',
      entityRef: '',
    });
    const view = render(h(OspClaimPreview, props({ name: 'd' })));
    await act(async () => {
      jest.advanceTimersByTime(200);
    });
    view.rerender(h(OspClaimPreview, props({ name: 'db', spec: { parameters: { size: 0 } } })));
    await act(async () => {
      jest.advanceTimersByTime(399);
    });
    expect(api.previewClaim).not.toHaveBeenCalled();
    await act(async () => {
      jest.advanceTimersByTime(1);
    });
    expect(api.previewClaim).toHaveBeenCalledTimes(1);
    expect(api.previewClaim.mock.calls[0][0]).toEqual({
      definition,
      name: 'db',
      values: { parameters: { size: 0 } },
    });
    const list = screen.getByRole('list', { name: 'Violations' });
    expect(within(list).getAllByRole('listitem').map(li => li.textContent)).toEqual([
      'spec.parameters.size: must be at least 1',
      'spec.parameters: CEL: size must be even',
    ]);
    expect(screen.queryByLabelText('Manifest')).toBeNull();
  });

  it('shows the manifest and its path when the values are valid', async () => {
    api.previewClaim.mockResolvedValue({
      manifest: 'kind: PostgreSQLInstance\nmetadata:\n  name: db\n',
      violations: [],
      warnings: [{ path: 'spec.parameters.size', message: 'coerced to an integer' }],
      idempotencyKey: 'claim/prod/team-a/postgresqlinstance/db',
      path: 'prod/team-a/db.yaml',
      entityRef: 'resource:default/db.postgresqlinstance.team-a.prod',
    });
    render(h(OspClaimPreview, props({ name: 'db', namespace: 'team-a', spec: { parameters: { size: 2 } } })));
    await act(async () => {
      jest.advanceTimersByTime(400);
    });
    expect(screen.getByLabelText('Manifest').textContent).toBe('kind: PostgreSQLInstance\nmetadata:\n  name: db\n');
    expect(screen.getByText('Path: prod/team-a/db.yaml')).toBeTruthy();
    expect(within(screen.getByRole('list', { name: 'Warnings' })).getByRole('listitem').textContent).toBe(
      'spec.parameters.size: coerced to an integer',
    );
    expect(screen.queryByRole('list', { name: 'Violations' })).toBeNull();
  });

  it('reports a failed preview and a missing definition', async () => {
    api.previewClaim.mockRejectedValue(new Error('not allowed: osp.claim.preview'));
    render(h(OspClaimPreview, props({ name: 'db' })));
    await act(async () => {
      jest.advanceTimersByTime(400);
    });
    expect(screen.getByRole('alert').textContent).toBe('Preview failed: not allowed: osp.claim.preview');
    cleanup();
    render(h(OspClaimPreview, props({ name: 'db' }, {})));
    expect(screen.getByRole('alert').textContent).toMatch(/needs ui:options.definition/);
  });
});
