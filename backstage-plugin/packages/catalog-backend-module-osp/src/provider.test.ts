import { create } from '@bufbuild/protobuf';
import { mockServices } from '@backstage/backend-test-utils';
import { NotImplementedError, ServiceUnavailableError } from '@backstage/errors';
import {
  EntityEncoding,
  GetDeltaResponseSchema,
  GetSnapshotResponseSchema,
  WatchChangesResponseSchema,
  type GetDeltaResponse,
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
    // The poll alone; the change stream has its own tests below.
    watch: { enabled: false },
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

/** A change stream the test feeds by hand; `fail` ends it with an error. */
class FakeStream {
  private readonly queue: Array<GetDeltaResponse | Error> = [];
  private wake?: () => void;
  closed = false;
  push(delta: GetDeltaResponse | Error) {
    this.queue.push(delta);
    this.wake?.();
  }
  async *iterate(signal: AbortSignal) {
    signal.addEventListener('abort', () => {
      this.closed = true;
      this.wake?.();
    });
    while (!signal.aborted) {
      const next = this.queue.shift();
      if (next instanceof Error) throw next;
      if (next) {
        yield create(WatchChangesResponseSchema, { delta: next });
        continue;
      }
      await new Promise<void>(r => (this.wake = r));
    }
  }
}

function watching() {
  const streams: FakeStream[] = [];
  const watchChanges = jest.fn((_req: { sinceRevision: bigint }, opts: { signal: AbortSignal }) => {
    const s = new FakeStream();
    streams.push(s);
    return s.iterate(opts.signal);
  });
  const catalog = { getSnapshot: jest.fn(), getDelta: jest.fn(), watchChanges };
  const connection = { applyMutation: jest.fn(), refresh: jest.fn() };
  const logger = mockServices.logger.mock();
  const provider = new OspEntityProvider({
    client: { catalog } as unknown as OspClient,
    logger,
    watch: { initialBackoffMs: 1, maxBackoffMs: 4 },
  });
  const until = async (what: string, ok: () => boolean) => {
    for (let i = 0; i < 500 && !ok(); i++) await new Promise(r => setTimeout(r, 2));
    if (!ok()) throw new Error(`timed out waiting for ${what}`);
  };
  return { catalog, connection, provider, streams, watchChanges, logger, until };
}

const delta = (revision: bigint, upserted: string[] = [], removed: string[] = []) =>
  create(GetDeltaResponseSchema, { revision, upserted: upserted.map(template), removed });

describe('OspEntityProvider change stream', () => {
  it('takes a snapshot, then applies each streamed delta as it arrives', async () => {
    const w = watching();
    w.catalog.getSnapshot.mockResolvedValue(snapshot(3n, ['a']));
    await w.provider.connect(w.connection);
    await w.until('the stream', () => w.streams.length === 1);
    expect(w.watchChanges.mock.calls[0][0].sinceRevision).toBe(3n);
    w.streams[0].push(delta(4n, ['b']));
    w.streams[0].push(delta(5n, [], ['template:default/a']));
    await w.until('both deltas', () => w.connection.applyMutation.mock.calls.length === 3);
    expect(w.connection.applyMutation.mock.calls.map(c => c[0].type)).toEqual(['full', 'delta', 'delta']);
    expect(w.connection.applyMutation.mock.calls[2][0].removed).toEqual([
      { entityRef: 'template:default/a', locationKey: 'osp:osp' },
    ]);
    // A poll afterwards asks from the streamed revision and applies nothing new.
    w.catalog.getDelta.mockResolvedValue(delta(5n));
    await w.provider.refresh();
    expect(w.catalog.getDelta.mock.calls[0][0].sinceRevision).toBe(5n);
    expect(w.connection.applyMutation).toHaveBeenCalledTimes(3);
    await w.provider.stop();
    expect(w.streams[0].closed).toBe(true);
  });

  it('never applies a revision twice when a poll got there first', async () => {
    const w = watching();
    w.catalog.getSnapshot.mockResolvedValue(snapshot(3n, ['a']));
    await w.provider.connect(w.connection);
    await w.until('the stream', () => w.streams.length === 1);
    w.catalog.getDelta.mockResolvedValue(delta(4n, ['b']));
    await w.provider.refresh();
    w.streams[0].push(delta(4n, ['b']));
    w.streams[0].push(delta(5n, ['c']));
    await w.until('the new delta', () => w.connection.applyMutation.mock.calls.length === 3);
    await w.provider.stop();
    const names = w.connection.applyMutation.mock.calls
      .slice(1)
      .map(c => c[0].added.map((e: any) => e.entity.metadata.name));
    expect(names).toEqual([['b'], ['c']]);
  });

  it('takes a snapshot and watches again from it when the stream says resync_needed', async () => {
    const w = watching();
    w.catalog.getSnapshot
      .mockResolvedValueOnce(snapshot(3n, ['a']))
      .mockResolvedValueOnce(snapshot(9n, ['a', 'b']));
    await w.provider.connect(w.connection);
    await w.until('the stream', () => w.streams.length === 1);
    w.streams[0].push(create(GetDeltaResponseSchema, { resyncNeeded: true }));
    await w.until('the second stream', () => w.streams.length === 2);
    await w.provider.stop();
    expect(w.connection.applyMutation.mock.calls.map(c => c[0].type)).toEqual(['full', 'full']);
    expect(w.watchChanges.mock.calls.map(c => c[0].sinceRevision)).toEqual([3n, 9n]);
  });

  it('reopens a failed stream with backoff from the last applied revision, keeping the catalog', async () => {
    const w = watching();
    w.catalog.getSnapshot.mockResolvedValue(snapshot(3n, ['a']));
    await w.provider.connect(w.connection);
    await w.until('the stream', () => w.streams.length === 1);
    w.streams[0].push(delta(4n, ['b']));
    w.streams[0].push(new ServiceUnavailableError('sidecar restarting'));
    await w.until('a reconnect', () => w.streams.length === 2);
    expect(w.watchChanges.mock.calls.map(c => c[0].sinceRevision)).toEqual([3n, 4n]);
    w.streams[1].push(delta(5n, ['c']));
    await w.until('the delta after reconnecting', () => w.connection.applyMutation.mock.calls.length === 3);
    await w.provider.stop();
    expect(w.connection.applyMutation.mock.calls.map(c => c[0].type)).toEqual(['full', 'delta', 'delta']);
    expect(w.logger.warn).toHaveBeenCalledTimes(1);
    expect(w.logger.info).toHaveBeenCalledWith(expect.stringMatching(/change stream restored after 1 failed attempt/));
  });

  it('applies nothing while the sidecar is down and retries the first snapshot', async () => {
    const w = watching();
    w.catalog.getSnapshot
      .mockRejectedValueOnce(new ServiceUnavailableError('not synced'))
      .mockRejectedValueOnce(new ServiceUnavailableError('not synced'))
      .mockResolvedValue(snapshot(7n, ['a']));
    await w.provider.connect(w.connection);
    await w.until('the stream', () => w.streams.length === 1);
    await w.provider.stop();
    expect(w.catalog.getSnapshot).toHaveBeenCalledTimes(3);
    expect(w.connection.applyMutation.mock.calls.map(c => c[0].type)).toEqual(['full']);
  });

  it('falls back to polling alone when the sidecar has no change stream', async () => {
    const w = watching();
    w.catalog.getSnapshot.mockResolvedValue(snapshot(3n, ['a']));
    w.watchChanges.mockImplementation(() => {
      throw new NotImplementedError('unknown method');
    });
    await w.provider.connect(w.connection);
    await w.until('the warning', () => w.logger.warn.mock.calls.length === 1);
    await w.provider.stop();
    expect(w.watchChanges).toHaveBeenCalledTimes(1);
    expect(w.logger.warn.mock.calls[0][0]).toMatch(/no change stream.*polling only/);
  });

  it('does not watch when disabled', async () => {
    const { provider, connection } = setup();
    await provider.connect(connection);
    await provider.stop();
    expect(connection.applyMutation).not.toHaveBeenCalled();
  });
});
