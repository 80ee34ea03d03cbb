/**
 * The real osp binary behind a real Backstage catalog and scaffolder, over
 * Backstage's own HTTP API.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
const PUBLISH = '/osp.v1.PublishService/CreatePullRequest';
const implemented = implementedRpcs(fixtures, [GET_SNAPSHOT, GET_DELTA, RENDER, PUBLISH]);
/** The Resource the catalog will list `orders-db` in `team-a` of cluster `default` as. */
const ORDERS_DB_RESOURCE = 'resource:default/orders-db.postgresqlinstance.team-a.from-dir';
/** The form values every run of the postgres Template uses. */
const ORDERS_DB = {
  name: 'orders-db',
  namespace: 'team-a',
  owner: 'group:default/team-a',
  spec: { parameters: { storageGB: 25, version: '15' } },
  repoUrl: 'github.com?owner=acme&repo=claims',
};

/** `git` in `cwd`, with an identity so commits work anywhere. */
function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
    },
  });
}

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
  /** The sidecar's local Git target for `acme/claims`. */
  let gitops: string;
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
    // `acme/claims` is a local Git target: publishing commits on a branch there.
    gitops = mkdtempSync(join(tmpdir(), 'osp-gitops-'));
    git(gitops, 'init', '--quiet', '--initial-branch=main');
    git(gitops, 'commit', '--quiet', '--allow-empty', '-m', 'init');
    const config = join(mkdtempSync(join(tmpdir(), 'osp-config-')), 'osp.yaml');
    writeFileSync(config, `publish:\n  local:\n    acme/claims: ${JSON.stringify(gitops)}\n`);
    sidecar = await startSidecar(dir, undefined, ['--config', config]);
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
    rmSync(gitops, { recursive: true, force: true });
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
      .send({ template, values: ORDERS_DB, secrets: {}, directoryContents: [] });
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
    // A dry run publishes nothing: no pull request link, and the catalog
    // link names the Resource the catalog will list the claim as.
    expect(res.body.output?.links).toEqual([
      { title: 'Open in catalog', icon: 'catalog', entityRef: ORDERS_DB_RESOURCE },
    ]);
  });

  /** Runs a Template as a real task and returns its output once it completed. */
  async function runTask(templateRef: string, values: object): Promise<{ links?: unknown[]; text?: unknown[] }> {
    const created = await request(backend.server)
      .post('/api/scaffolder/v2/tasks')
      .set(auth)
      .send({ templateRef, values });
    expect({ status: created.status, body: created.status === 201 ? 'ok' : created.body }).toEqual({
      status: 201,
      body: 'ok',
    });
    const id: string = created.body.id;
    const deadline = Date.now() + 60_000;
    for (let after: number | undefined; Date.now() < deadline; ) {
      const events = await request(backend.server)
        .get(`/api/scaffolder/v2/tasks/${id}/events${after === undefined ? '' : `?after=${after}`}`)
        .set(auth);
      expect(events.status).toBe(200);
      for (const e of events.body as { id: number; type: string; body: { message?: string; output?: object } }[]) {
        after = e.id;
        if (e.type === 'completion') {
          const task = await request(backend.server).get(`/api/scaffolder/v2/tasks/${id}`).set(auth);
          expect({ status: task.body.status, message: e.body.message }).toMatchObject({ status: 'completed' });
          return e.body.output ?? {};
        }
      }
    }
    throw new Error(`task ${id} did not complete\n--- sidecar output ---\n${sidecar.output()}`);
  }

  itNeeds(
    [GET_SNAPSHOT, RENDER, PUBLISH],
    'runs the generated Template as a task to a local Git target: provenance, no bogus link',
    async () => {
      const template = byDefinition(await entities('template'), POSTGRES)!;
      const templateRef = `template:${template.metadata.namespace ?? 'default'}/${template.metadata.name}`;
      const output = await runTask(templateRef, ORDERS_DB);
      // A local commit has no web page: no "Pull request" link at all.
      expect(output.links).toEqual([{ title: 'Open in catalog', icon: 'catalog', entityRef: ORDERS_DB_RESOURCE }]);
      const branches = git(gitops, 'for-each-ref', '--format=%(refname:short) %(objectname)', 'refs/heads/osp/')
        .trim()
        .split('\n');
      expect(branches).toHaveLength(1);
      const [branch, commit] = branches[0].split(' ');
      const text = output.text as { title: string; content: string }[];
      expect(text.map(t => t.title)).toEqual(['Local Git commit', 'Manifest']);
      expect(text[0].content).toContain(`\`${commit}\` on branch \`${branch}\``);
      // The task's template reached the sidecar and is written as provenance;
      // the path names the cluster serving the definition (`from-dir`).
      const manifest = git(gitops, 'show', `${branch}:from-dir/team-a/postgresqlinstance/orders-db.yaml`);
      expect(manifest).toContain(`osp.dev/template: ${templateRef}`);
      expect(manifest).toMatch(/storageGB: 25/);
    },
  );

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
