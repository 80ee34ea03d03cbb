/**
 * The real osp binary behind a real Backstage catalog and scaffolder, over
 * Backstage's own HTTP API.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import type { ServiceFactory } from '@backstage/backend-plugin-api';
import type { Entity } from '@backstage/catalog-model';
import catalogModuleOsp from '@osp/plugin-catalog-backend-module-osp';
import scaffolderModuleOsp from '@osp/plugin-scaffolder-backend-module-osp';
import request from 'supertest';
import { describeWithSidecar, implementedRpcs, startSidecar, type Sidecar } from './sidecar';

const fixtures = resolve(__dirname, '../fixtures');
const POSTGRES = 'xpostgresqlinstances.database.example.org';
const BUCKETS = 'xbuckets.storage.example.org';
const auth = { Authorization: mockCredentials.user.header() };

jest.setTimeout(120_000);

const GET_SNAPSHOT = '/osp.v1.CatalogService/GetSnapshot';
const GET_DELTA = '/osp.v1.CatalogService/GetDelta';
const RENDER = '/osp.v1.ClaimService/RenderClaim';
const implemented = implementedRpcs(fixtures, [GET_SNAPSHOT, GET_DELTA, RENDER]);

/** A case that needs these RPCs: skipped, with the reason printed, until the sidecar has them. */
function itNeeds(rpcs: string[], name: string, fn: () => Promise<void>) {
  const missing = rpcs.filter(r => !implemented.has(r));
  if (missing.length === 0) {
    it(name, fn);
  } else {
    // eslint-disable-next-line no-console
    console.warn(`SKIPPED "${name}": the osp binary does not implement ${missing.join(', ')} yet`);
    it.skip(name, fn);
  }
}

describeWithSidecar('osp modules in a Backstage backend', () => {
  let dir: string;
  let sidecar: Sidecar;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  // The mock scheduler runs each task once at startup and then only when
  // triggered, so "the next poll" is deterministic.
  const scheduler = mockServices.scheduler() as ReturnType<typeof mockServices.scheduler> & {
    factory(): ServiceFactory;
  };

  const poll = () => scheduler.triggerTask('osp:refresh');

  async function entities(kind: string): Promise<Entity[]> {
    const res = await request(backend.server)
      .get(`/api/catalog/entities/by-query?filter=kind=${kind}`)
      .set(auth);
    expect(res.status).toBe(200);
    return res.body.items;
  }

  const byDefinition = (list: Entity[], definition: string) =>
    list.find(e => e.metadata.annotations?.['osp.dev/definition'] === definition);

  /** Polls the sidecar and waits until the catalog has processed the result. */
  async function eventually<T>(what: string, get: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      await poll();
      const value = await get();
      if (value !== undefined) return value;
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}\n--- sidecar output ---\n${sidecar.output()}`);
      }
      await new Promise(r => setTimeout(r, 250));
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'osp-from-dir-'));
    copyFileSync(join(fixtures, 'xpostgresqlinstances.yaml'), join(dir, 'xpostgresqlinstances.yaml'));
    sidecar = await startSidecar(dir);
    backend = await startTestBackend({
      features: [
        import('@backstage/plugin-catalog-backend'),
        import('@backstage/plugin-scaffolder-backend'),
        import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'),
        catalogModuleOsp,
        scaffolderModuleOsp,
        scheduler.factory(),
        mockServices.rootConfig.factory({
          data: {
            osp: { sidecar: { address: sidecar.address, timeoutMs: 3000, retry: { maxAttempts: 2, backoffMs: 50 } } },
            catalog: {
              providers: { osp: { schedule: { frequency: { seconds: 1 }, timeout: { seconds: 30 } } } },
            },
          },
        }),
      ],
    });
  });

  afterAll(async () => {
    await backend?.stop();
    await sidecar?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  itNeeds([GET_SNAPSHOT], 'serves the Templates and APIs the sidecar provides, with relations', async () => {
    const template = await eventually('the postgres template', async () =>
      byDefinition(await entities('template'), POSTGRES),
    );
    expect(template.spec?.type).toBe('crossplane-claim');
    expect(template.metadata.annotations).toMatchObject({
      'backstage.io/managed-by-location': 'osp:osp',
      'backstage.io/managed-by-origin-location': 'osp:osp',
    });
    expect(template.relations).toEqual(
      expect.arrayContaining([{ type: 'ownedBy', targetRef: String(template.spec?.owner) }]),
    );
    const api = await eventually('the postgres API', async () =>
      (await entities('api')).find(a => JSON.stringify(a).includes('PostgreSQLInstance')),
    );
    expect(api.spec?.type).toBe('openapi');
    expect(api.relations?.some(r => r.type === 'ownedBy')).toBe(true);
  });

  itNeeds([GET_SNAPSHOT, RENDER], 'runs the generated Template through the scaffolder dry-run', async () => {
    const template = byDefinition(await entities('template'), POSTGRES)!;
    const res = await request(backend.server)
      .post('/api/scaffolder/v2/dry-run')
      .set(auth)
      .send({
        template,
        values: {
          name: 'orders-db',
          namespace: 'team-a',
          owner: 'group:default/team-a',
          spec: { parameters: { storageGB: 25, version: '15' } },
          repoUrl: 'github.com?owner=acme&repo=claims',
        },
        secrets: {},
        directoryContents: [],
      });
    expect({ status: res.status, body: res.status === 200 ? 'ok' : res.body }).toEqual({
      status: 200,
      body: 'ok',
    });
    const files = (res.body.directoryContents as { path: string; base64Content: string }[]).map(
      f => ({ path: f.path, content: Buffer.from(f.base64Content, 'base64').toString('utf8') }),
    );
    const manifest = files.find(f => f.content.includes('kind: PostgreSQLInstance'));
    expect(manifest).toBeDefined();
    expect(manifest!.content).toMatch(/name: orders-db/);
    expect(manifest!.content).toMatch(/namespace: team-a/);
    expect(manifest!.content).toMatch(/storageGB: 25/);
    const links = res.body.output?.links as { title: string; url: string }[];
    expect(links).toEqual(
      expect.arrayContaining([expect.objectContaining({ url: 'https://github.com/acme/claims/pulls' })]),
    );
  });

  itNeeds([GET_SNAPSHOT, RENDER], 'rejects invalid form values with errors naming the fields', async () => {
    const template = byDefinition(await entities('template'), POSTGRES)!;
    const values = {
      name: 'orders-db',
      namespace: 'team-a',
      owner: 'group:default/team-a',
      spec: { parameters: { storageGB: 0 } },
      repoUrl: 'github.com?owner=acme&repo=claims',
    };
    // The scaffolder checks the form against the generated parameters...
    const form = await request(backend.server)
      .post('/api/scaffolder/v2/dry-run')
      .set(auth)
      .send({ template, values, secrets: {}, directoryContents: [] });
    expect(form.status).toBe(400);
    expect(JSON.stringify(form.body)).toContain('storageGB');

    // ...and the sidecar checks again, whatever the form let through: an
    // InputError naming the field.
    const unchecked = { ...template, spec: { ...template.spec, parameters: [] } };
    const res = await request(backend.server)
      .post('/api/scaffolder/v2/dry-run')
      .set(auth)
      .send({ template: unchecked, values, secrets: {}, directoryContents: [] });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ name: 'InputError' });
    expect(res.body.error.message).toContain('spec.parameters.storageGB');
  });

  itNeeds([GET_SNAPSHOT, GET_DELTA], 'picks up a new definition and a removed one on the next poll', async () => {
    copyFileSync(join(fixtures, 'xbuckets.yaml'), join(dir, 'xbuckets.yaml'));
    await eventually('the bucket template', async () =>
      byDefinition(await entities('template'), BUCKETS),
    );
    rmSync(join(dir, 'xpostgresqlinstances.yaml'));
    await eventually('the postgres template to disappear', async () =>
      byDefinition(await entities('template'), POSTGRES) ? undefined : true,
    );
    expect(byDefinition(await entities('template'), BUCKETS)).toBeDefined();
  });

  itNeeds([GET_SNAPSHOT], 'keeps the catalog when the sidecar is stopped', async () => {
    const before = (await entities('template')).map(e => e.metadata.name).sort();
    expect(before.length).toBeGreaterThan(0);
    await sidecar.stop();
    await poll();
    await poll();
    await new Promise(r => setTimeout(r, 1500));
    const after = (await entities('template')).map(e => e.metadata.name).sort();
    expect(after).toEqual(before);
  });
});
