import { create } from '@bufbuild/protobuf';
import { mockServices } from '@backstage/backend-test-utils';
import { ServiceUnavailableError } from '@backstage/errors';
import {
  EntityEncoding,
  GetDeltaResponseSchema,
  GetSnapshotResponseSchema,
  type OspClient,
} from '@osp/backstage-client';
import { OspEntityProvider } from './provider';

function template(name: string) {
  return {
    ref: `template:default/${name}`,
    etag: name,
    entity: {
      apiVersion: 'scaffolder.backstage.io/v1beta3',
      kind: 'Template',
      metadata: { name, annotations: { 'backstage.io/source': 'x' } },
      spec: { type: 'service' },
    },
  };
}

function setup() {
  const catalog = { getSnapshot: jest.fn(), getDelta: jest.fn() };
  const connection = { applyMutation: jest.fn(), refresh: jest.fn() };
  const provider = new OspEntityProvider({
    client: { catalog } as unknown as OspClient,
    logger: mockServices.logger.mock(),
  });
  return { catalog, connection, provider };
}

const snapshot = (revision: bigint, names: string[]) =>
  create(GetSnapshotResponseSchema, { revision, entities: names.map(template) });

describe('OspEntityProvider', () => {
  it('reads every page of a snapshot as JSON before one full mutation', async () => {
    const { catalog, connection, provider } = setup();
    const json = (name: string) => ({
      ref: `template:default/${name}`,
      etag: name,
      json: JSON.stringify(template(name).entity),
    });
    catalog.getSnapshot
      .mockResolvedValueOnce(
        create(GetSnapshotResponseSchema, {
          revision: 4n,
          entities: [json('a'), json('b')],
          nextPageToken: 't1',
        }),
      )
      .mockResolvedValueOnce(
        create(GetSnapshotResponseSchema, { revision: 4n, entities: [json('c')] }),
      );
    await provider.connect(connection);
    await provider.refresh();

    expect(catalog.getSnapshot.mock.calls.map(c => [c[0].pageToken, c[0].encoding])).toEqual([
      ['', EntityEncoding.JSON],
      ['t1', EntityEncoding.JSON],
    ]);
    expect(connection.applyMutation).toHaveBeenCalledTimes(1);
    const [mutation] = connection.applyMutation.mock.calls[0];
    expect(mutation.entities.map((e: any) => e.entity.metadata.name)).toEqual(['a', 'b', 'c']);
  });

  it('applies nothing when a later page fails', async () => {
    const { catalog, connection, provider } = setup();
    catalog.getSnapshot
      .mockResolvedValueOnce(
        create(GetSnapshotResponseSchema, {
          revision: 4n,
          entities: [template('a')],
          nextPageToken: 't1',
        }),
      )
      .mockRejectedValueOnce(new ServiceUnavailableError('snapshot expired'));
    await provider.connect(connection);
    await provider.refresh();
    expect(connection.applyMutation).not.toHaveBeenCalled();
  });

  it('applies a full mutation first, with the location annotations', async () => {
    const { catalog, connection, provider } = setup();
    catalog.getSnapshot.mockResolvedValue(snapshot(3n, ['a', 'b']));
    await provider.connect(connection);
    await provider.refresh();

    expect(catalog.getDelta).not.toHaveBeenCalled();
    const [mutation] = connection.applyMutation.mock.calls[0];
    expect(mutation.type).toBe('full');
    expect(mutation.entities).toHaveLength(2);
    expect(mutation.entities[0]).toEqual({
      locationKey: 'osp:osp',
      entity: expect.objectContaining({
        kind: 'Template',
        metadata: {
          name: 'a',
          annotations: {
            'backstage.io/source': 'x',
            'backstage.io/managed-by-location': 'osp:osp',
            'backstage.io/managed-by-origin-location': 'osp:osp',
          },
        },
      }),
    });
  });

  it('applies deltas since the last revision afterwards', async () => {
    const { catalog, connection, provider } = setup();
    catalog.getSnapshot.mockResolvedValue(snapshot(3n, ['a', 'b']));
    catalog.getDelta
      .mockResolvedValueOnce(
        create(GetDeltaResponseSchema, {
          revision: 5n,
          upserted: [template('c')],
          removed: ['template:default/a'],
        }),
      )
      .mockResolvedValueOnce(create(GetDeltaResponseSchema, { revision: 5n }));
    await provider.connect(connection);
    await provider.refresh();
    await provider.refresh();
    await provider.refresh();

    expect(catalog.getDelta.mock.calls.map(c => c[0].sinceRevision)).toEqual([3n, 5n]);
    expect(connection.applyMutation).toHaveBeenCalledTimes(2);
    const [delta] = connection.applyMutation.mock.calls[1];
    expect(delta).toMatchObject({
      type: 'delta',
      added: [{ entity: { metadata: { name: 'c' } }, locationKey: 'osp:osp' }],
      removed: [{ entityRef: 'template:default/a', locationKey: 'osp:osp' }],
    });
  });

  it('takes a new snapshot when the sidecar says resync_needed', async () => {
    const { catalog, connection, provider } = setup();
    catalog.getSnapshot
      .mockResolvedValueOnce(snapshot(3n, ['a']))
      .mockResolvedValueOnce(snapshot(1n, ['a', 'b']));
    catalog.getDelta.mockResolvedValue(create(GetDeltaResponseSchema, { resyncNeeded: true }));
    await provider.connect(connection);
    await provider.refresh();
    await provider.refresh();

    expect(connection.applyMutation.mock.calls.map(c => c[0].type)).toEqual(['full', 'full']);
    expect(connection.applyMutation.mock.calls[1][0].entities).toHaveLength(2);
  });

  it.each([
    { reason: 'before the first snapshot', first: false },
    { reason: 'after a snapshot', first: true },
  ])('keeps the catalog when the sidecar is unavailable $reason', async ({ first }) => {
    const { catalog, connection, provider } = setup();
    catalog.getSnapshot.mockResolvedValueOnce(snapshot(3n, ['a']));
    await provider.connect(connection);
    if (first) {
      await provider.refresh();
    }
    connection.applyMutation.mockClear();
    catalog.getSnapshot.mockRejectedValue(new ServiceUnavailableError('down'));
    catalog.getDelta.mockRejectedValue(new ServiceUnavailableError('down'));
    if (!first) {
      catalog.getSnapshot.mockReset().mockRejectedValue(new ServiceUnavailableError('not synced'));
    }

    await expect(provider.refresh()).resolves.toBeUndefined();
    expect(connection.applyMutation).not.toHaveBeenCalled();
  });

  it('retries the same delta when applying the mutation failed', async () => {
    const { catalog, connection, provider } = setup();
    catalog.getSnapshot.mockResolvedValue(snapshot(3n, ['a']));
    catalog.getDelta.mockResolvedValue(
      create(GetDeltaResponseSchema, { revision: 4n, upserted: [template('b')] }),
    );
    await provider.connect(connection);
    await provider.refresh();
    connection.applyMutation.mockRejectedValueOnce(new Error('database is busy'));
    await provider.refresh();
    await provider.refresh();
    expect(catalog.getDelta.mock.calls.map(c => c[0].sinceRevision)).toEqual([3n, 3n]);
  });

  it('refuses to poll before connect', async () => {
    const { provider } = setup();
    await expect(provider.refresh()).rejects.toThrow(/not connected/);
  });
});
