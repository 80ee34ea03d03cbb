/**
 * Our modules inside a real Backstage catalog and scaffolder, against an
 * in-process fake sidecar: runs without the osp binary, so the Backstage
 * side is always covered.
 */
import { create } from '@bufbuild/protobuf';
import type { ServiceFactory } from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices, startTestBackend } from '@backstage/backend-test-utils';
import type { Entity } from '@backstage/catalog-model';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  BadRequestSchema,
  CatalogService,
  ChangeKind,
  ClaimService,
  PublishService,
  type Entity as OspEntity,
} from '@osp/backstage-client';
import { Health, HealthCheckResponse_ServingStatus } from '@osp/backstage-client/src/gen/grpc/health/v1/health_pb';
import { serveRoutes } from '@osp/backstage-client/src/testing';
import catalogModuleOsp from '@osp/plugin-catalog-backend-module-osp';
import scaffolderModuleOsp from '@osp/plugin-scaffolder-backend-module-osp';
import request from 'supertest';

jest.setTimeout(60_000);

const auth = { Authorization: mockCredentials.user.header() };

const template: Entity = {
  apiVersion: 'scaffolder.backstage.io/v1beta3',
  kind: 'Template',
  metadata: { name: 'fake-db', annotations: { 'osp.dev/definition': 'xfakedbs.example.org' } },
  spec: {
    owner: 'group:default/platform-team',
    type: 'crossplane-claim',
    parameters: [
      { title: 'Metadata', required: ['name'], properties: { name: { type: 'string' } } },
    ],
    steps: [
      {
        id: 'render',
        action: 'osp:claim:render',
        input: {
          definition: 'xfakedbs.example.org',
          name: '${{ parameters.name }}',
          namespace: 'team-a',
          owner: 'group:default/team-a',
          values: '${{ parameters.spec }}',
        },
      },
      {
        id: 'publish',
        action: 'osp:claim:publish',
        input: {
          repoUrl: 'github.com?owner=acme&repo=claims',
          manifest: '${{ steps.render.output.manifest }}',
          path: '${{ steps.render.output.path }}',
          idempotencyKey: '${{ steps.render.output.idempotencyKey }}',
        },
      },
    ],
    // Shaped like the output block of the Templates the sidecar generates
    // (`src/template/steps.rs`), with no `templateRef` input.
    output: {
      links: [
        {
          title: 'Pull request',
          icon: 'github',
          url: '${{ steps.publish.output.changeUrl }}',
          if: "${{ steps.publish.output.changeKind == 'pull-request' }}",
        },
        { title: 'Open in catalog', icon: 'catalog', entityRef: '${{ steps.render.output.entityRef }}' },
      ],
      text: [
        {
          title: 'Local Git commit',
          if: "${{ steps.publish.output.changeKind == 'local-branch' }}",
          content: 'Committed `${{ steps.publish.output.commit }}` on branch `${{ steps.publish.output.branch }}`.',
        },
      ],
    },
  },
};

/** The Resource the fake sidecar says the catalog will list. */
const resourceRef = (name: string) => `resource:default/${name}.fakedb.team-a.default`;

const ospEntity = (entity: Entity): OspEntity =>
  ({ ref: `template:default/${entity.metadata.name}`, etag: '1', entity } as unknown as OspEntity);

describe('osp modules with a fake sidecar', () => {
  let entities: OspEntity[] = [ospEntity(template)];
  let failing = false;
  let lastCaller: unknown;
  let lastTemplateRef: string | undefined;
  /** What the fake's publish answers: a GitHub pull request or a local commit. */
  let publishKind: ChangeKind = ChangeKind.PULL_REQUEST;
  let fake: Awaited<ReturnType<typeof serveRoutes>>;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  const scheduler = mockServices.scheduler() as ReturnType<typeof mockServices.scheduler> & {
    factory(): ServiceFactory;
  };

  beforeAll(async () => {
    fake = await serveRoutes(router => {
      router.service(Health, {
        check: async () => ({ status: HealthCheckResponse_ServingStatus.SERVING }),
      });
      router.service(CatalogService, {
        async getSnapshot() {
          if (failing) throw new ConnectError('cluster not synced', Code.Unavailable);
          return { revision: 1n, entities };
        },
        async getDelta() {
          if (failing) throw new ConnectError('down', Code.Unavailable);
          return { resyncNeeded: true };
        },
      });
      router.service(ClaimService, {
        async renderClaim(req) {
          lastCaller = req.caller;
          lastTemplateRef = req.templateRef;
          const values = JSON.parse(req.valuesJson || '{}');
          if (!(values.parameters?.size >= 1)) {
            throw new ConnectError('1 invalid field', Code.InvalidArgument, undefined, [
              {
                desc: BadRequestSchema,
                value: create(BadRequestSchema, {
                  fieldViolations: [{ field: 'spec.parameters.size', description: 'must be at least 1' }],
                }),
              },
            ]);
          }
          const yaml = `apiVersion: example.org/v1\nkind: FakeDB\nmetadata:\n  name: ${req.name}\n  namespace: ${req.namespace}\nspec:\n  parameters:\n    size: ${values.parameters.size}\n`;
          return {
            manifest: { yaml },
            path: `team-a/fakedb/${req.name}.yaml`,
            apiVersion: 'example.org/v1',
            kind: 'FakeDB',
            isClaim: true,
            idempotencyKey: `claim/default/team-a/fakedb/${req.name}`,
            entityRef: resourceRef(req.name),
          };
        },
      });
      router.service(PublishService, {
        async createPullRequest(req) {
          const branch = `osp/${req.idempotencyKey.replace(/\//g, '-')}`;
          return publishKind === ChangeKind.PULL_REQUEST
            ? { changeKind: publishKind, url: 'https://github.com/acme/claims/pull/7', number: 7n, branch, commitSha: 'c0ffee', created: true }
            : { changeKind: publishKind, branch, commitSha: 'c0ffee', created: true };
        },
      });
    });
    backend = await startTestBackend({
      features: [
        import('@backstage/plugin-catalog-backend'),
        import('@backstage/plugin-scaffolder-backend'),
        import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'),
        catalogModuleOsp,
        scaffolderModuleOsp,
        scheduler.factory(),
        ...(process.env.OSP_TEST_LOG ? [mockServices.rootLogger.factory({ level: 'debug' })] : []),
        mockServices.rootConfig.factory({
          data: {
            osp: { sidecar: { address: fake.address, retry: { maxAttempts: 1 } } },

          },
        }),
      ],
    });
  });

  afterAll(async () => {
    await backend?.stop();
    await fake?.close();
  });

  async function templates(): Promise<Entity[]> {
    const res = await request(backend.server).get('/api/catalog/entities/by-query?filter=kind=template').set(auth);
    expect(res.status).toBe(200);
    return res.body.items;
  }

  async function eventually<T>(get: () => Promise<T | undefined>): Promise<T> {
    for (let i = 0; ; i++) {
      await scheduler.triggerTask('osp:refresh');
      const v = await get();
      if (v !== undefined) return v;
      if (i > 200) throw new Error('timed out');
      await new Promise(r => setTimeout(r, 250));
    }
  }

  it('stores the provided entities with relations', async () => {
    const found = await eventually(async () => (await templates()).find(e => e.metadata.name === 'fake-db'));
    expect(found.relations).toEqual([{ type: 'ownedBy', targetRef: 'group:default/platform-team' }]);
  });

  it('dry-runs the template through our actions', async () => {
    const res = await request(backend.server)
      .post('/api/scaffolder/v2/dry-run')
      .set(auth)
      .send({ template, values: { name: 'db1', spec: { parameters: { size: 3 } } }, secrets: {}, directoryContents: [] });
    expect(res.status).toBe(200);
    const files = res.body.directoryContents.map((f: { path: string; base64Content: string }) => ({
      path: f.path,
      content: Buffer.from(f.base64Content, 'base64').toString('utf8'),
    }));
    expect(files).toEqual([expect.objectContaining({ path: 'team-a/fakedb/db1.yaml' })]);
    expect(files[0].content).toContain('size: 3');
    // Nothing was published: no pull request link, only the catalog's.
    expect(res.body.output.links).toEqual([
      { title: 'Open in catalog', icon: 'catalog', entityRef: resourceRef('db1') },
    ]);
    expect(res.body.output.text).toEqual([]);
    expect(lastCaller).toMatchObject({ userEntityRef: 'user:default/mock' });
  });

  /** Runs the stored Template as a real task and returns its output. */
  async function runTask(values: object): Promise<{ links?: unknown[]; text?: unknown[] }> {
    const created = await request(backend.server)
      .post('/api/scaffolder/v2/tasks')
      .set(auth)
      .send({ templateRef: 'template:default/fake-db', values });
    expect(created.status).toBe(201);
    const id: string = created.body.id;
    for (let after: number | undefined; ; ) {
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
  }

  it('runs the template as a task: provenance reaches the sidecar, the pull request is linked', async () => {
    await eventually(async () => (await templates()).find(e => e.metadata.name === 'fake-db'));
    publishKind = ChangeKind.PULL_REQUEST;
    lastTemplateRef = undefined;
    const output = await runTask({ name: 'db2', spec: { parameters: { size: 3 } } });
    expect(lastTemplateRef).toBe('template:default/fake-db');
    expect(output.links).toEqual([
      { title: 'Pull request', icon: 'github', url: 'https://github.com/acme/claims/pull/7' },
      { title: 'Open in catalog', icon: 'catalog', entityRef: resourceRef('db2') },
    ]);
    expect(output.text).toEqual([]);
  });

  it('runs the template as a task against a local Git target: no link, the branch and commit as text', async () => {
    publishKind = ChangeKind.LOCAL_BRANCH;
    const output = await runTask({ name: 'db3', spec: { parameters: { size: 3 } } });
    expect(output.links).toEqual([{ title: 'Open in catalog', icon: 'catalog', entityRef: resourceRef('db3') }]);
    expect(output.text).toEqual([
      {
        title: 'Local Git commit',
        content: 'Committed `c0ffee` on branch `osp/claim-default-team-a-fakedb-db3`.',
      },
    ]);
  });

  it('answers invalid values with an InputError naming the field', async () => {
    const res = await request(backend.server)
      .post('/api/scaffolder/v2/dry-run')
      .set(auth)
      .send({ template, values: { name: 'db1', spec: { parameters: { size: 0 } } }, secrets: {}, directoryContents: [] });
    expect(res.status).toBe(400);
    expect(res.body.error.name).toBe('InputError');
    expect(res.body.error.message).toContain('spec.parameters.size: must be at least 1');
  });

  it('replaces the entities on a resync and keeps them while the sidecar fails', async () => {
    entities = [ospEntity({ ...template, metadata: { ...template.metadata, name: 'other-db' } })];
    const names = async () => (await templates()).map(e => e.metadata.name).join(',');
    await eventually(async () => ((await names()) === 'other-db' ? true : undefined));
    failing = true;
    await scheduler.triggerTask('osp:refresh');
    await new Promise(r => setTimeout(r, 1000));
    expect((await templates()).map(e => e.metadata.name)).toEqual(['other-db']);
  });
});
