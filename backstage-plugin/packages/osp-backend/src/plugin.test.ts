/**
 * The plugin inside a test backend, against an in-process fake sidecar
 * (real gRPC over HTTP/2, so the error mapping is the production one).
 */
import { create } from '@bufbuild/protobuf';
import { mockCredentials, mockServices, startTestBackend } from '@backstage/backend-test-utils';
import type { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  BadRequestSchema,
  CatalogService,
  ChangeKind,
  ClaimService,
  DefinitionKind,
  PublishService,
  TemplateService,
  ResourceState,
  type CreatePullRequestRequest,
  type DeleteClaimRequest,
  type GetResourceStatusRequest,
} from '@osp/backstage-client';
import { serveRoutes } from '@osp/backstage-client/src/testing';
import request from 'supertest';
import { ospPlugin } from './plugin';

const auth = { Authorization: mockCredentials.user.header() };

const resource: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Resource',
  metadata: {
    name: 'orders-db.postgresqlinstance.team-a.prod',
    annotations: {
      'osp.dev/cluster': 'prod',
      'osp.dev/api-version': 'database.example.org/v1alpha1',
      'osp.dev/kind': 'PostgreSQLInstance',
      'osp.dev/namespace': 'team-a',
      'osp.dev/name': 'orders-db',
    },
  },
  spec: { type: 'crossplane-claim', owner: 'group:default/team-a' },
};
// A claim rendered for publishing records where it lives.
const published: Entity = {
  ...resource,
  metadata: {
    name: 'jobs.queue.team-a.prod',
    annotations: {
      ...resource.metadata.annotations,
      'osp.dev/kind': 'Queue',
      'osp.dev/name': 'jobs',
      'osp.dev/repo-url': 'gitlab.example.org?owner=acme%2Fplatform&repo=gitops',
      'osp.dev/repo-path': 'clusters/prod/team-a/queue/jobs.yaml',
      'osp.dev/idempotency-key': 'claim/prod/team-a/queue/jobs',
    },
  },
};
const publishedRef = 'resource:default/jobs.queue.team-a.prod';
const plainResource: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Resource',
  metadata: { name: 'bucket' },
  spec: { type: 's3', owner: 'group:default/team-a' },
};
const ref = 'resource:default/orders-db.postgresqlinstance.team-a.prod';
const template: Entity = {
  apiVersion: 'scaffolder.backstage.io/v1beta3',
  kind: 'Template',
  metadata: { name: 'xpostgresqlinstances', annotations: { 'osp.dev/definition': 'xpostgresqlinstances.database.example.org' } },
  spec: { type: 'service', owner: 'group:default/platform' },
};

describe('osp backend plugin', () => {
  let fake: Awaited<ReturnType<typeof serveRoutes>>;
  let statusCalls: GetResourceStatusRequest[];
  let statusError: ConnectError | undefined;
  let publishCalls: CreatePullRequestRequest[] = [];
  let directDelete = false;
  let deleteCalls: DeleteClaimRequest[] = [];

  beforeAll(async () => {
    fake = await serveRoutes(router => {
      router.service(CatalogService, {
        async getResourceStatus(req) {
          statusCalls.push(req);
          if (statusError) throw statusError;
          return {
            message: 'Waiting for the database',
            directDelete,
            status: { atProvider: { endpoint: 'db.internal' } },
            yaml: `kind: ${req.kind}\nmetadata:\n  name: ${req.name}\n`,
            root: {
              apiVersion: req.apiVersion,
              kind: req.kind,
              namespace: req.namespace,
              name: req.name,
              state: ResourceState.PROVISIONING,
              conditions: [
                { type: 'Synced', status: 'True', reason: 'ReconcileSuccess', lastTransitionTime: '2026-12-03T10:00:00Z' },
                { type: 'Ready', status: 'False', reason: 'Creating', message: 'Waiting for the database', lastTransitionTime: '2026-12-03T10:00:01Z' },
              ],
              children: [
                { apiVersion: 'rds.aws.upbound.io/v1beta1', kind: 'Instance', name: 'orders-db-x7k2p', state: ResourceState.READY },
              ],
            },
          };
        },
      });
      router.service(TemplateService, {
        async listDefinitions() {
          const summary = (cluster: string, versions: string[], compositions: string[]) => ({
            name: 'xpostgresqlinstances.database.example.org',
            kind: DefinitionKind.XRD,
            group: 'database.example.org',
            version: 'v1beta1',
            targetKind: 'PostgreSQLInstance',
            clusters: [cluster],
            versions,
            compositions,
          });
          return {
            definitions: [
              summary('prod', ['v1alpha1', 'v1beta1'], ['postgres-aws']),
              summary('staging', ['v1beta1', 'v1'], []),
              { ...summary('prod', ['v1'], []), name: 'buckets.storage.example.org' },
            ],
          };
        },
      });
      router.service(PublishService, {
        async createPullRequest(req) {
          publishCalls.push(req);
          return {
            changeKind: ChangeKind.PULL_REQUEST,
            url: 'https://gitlab.example.org/acme/platform/gitops/-/merge_requests/4',
            number: 4n,
            branch: 'osp/claim-prod-team-a-queue-jobs-delete-0a1b2c3d',
            created: true,
          };
        },
      });
      router.service(ClaimService, {
        async deleteClaim(req) {
          deleteCalls.push(req);
          return { cluster: req.cluster, deleted: true, dryRun: false };
        },
        async renderClaim(req) {
          const values = JSON.parse(req.valuesJson || '{}');
          if (!(values.parameters?.size >= 1)) {
            throw new ConnectError('2 invalid fields', Code.InvalidArgument, undefined, [
              {
                desc: BadRequestSchema,
                value: create(BadRequestSchema, {
                  fieldViolations: [
                    { field: 'spec.parameters.size', description: 'must be at least 1' },
                    { field: 'spec.parameters', description: 'CEL: size must be even' },
                  ],
                }),
              },
            ]);
          }
          if (req.definition?.source.value === 'unknown') {
            throw new ConnectError('unknown definition', Code.NotFound);
          }
          return {
            manifest: { yaml: `kind: PostgreSQLInstance\nmetadata:\n  name: ${req.name}\n  # owner ${req.owner}\n` },
            path: `prod/team-a/${req.name}.yaml`,
            idempotencyKey: `claim/prod/team-a/postgresqlinstance/${req.name}`,
            entityRef: ref,
            kind: 'PostgreSQLInstance',
          };
        },
      });
    });
  });
  afterAll(() => fake?.close());
  beforeEach(() => {
    statusCalls = [];
    statusError = undefined;
    publishCalls = [];
  });

  async function backendWith(result: AuthorizeResult.ALLOW | AuthorizeResult.DENY = AuthorizeResult.ALLOW) {
    return startTestBackend({
      features: [
        ospPlugin,
        catalogServiceMock.factory({ entities: [resource, plainResource, published, template] }),
        mockServices.permissions.factory({ result }),
        // The mock otherwise treats a request without a token as a user.
        mockServices.httpAuth.factory({ defaultCredentials: mockCredentials.none() }),
        mockServices.rootConfig.factory({
          data: { osp: { sidecar: { address: fake.address, retry: { maxAttempts: 1 } } } },
        }),
      ],
    });
  }

  /** A backend whose permission service is `permissions` (a policy's answers). */
  async function backendWithPolicy(permissions: ReturnType<typeof mockServices.permissions.mock>) {
    return startTestBackend({
      features: [
        ospPlugin,
        catalogServiceMock.factory({ entities: [resource, published] }),
        permissions.factory,
        mockServices.rootConfig.factory({
          data: { osp: { sidecar: { address: fake.address, retry: { maxAttempts: 1 } } } },
        }),
      ],
    });
  }

  it('requires a signed-in caller on every route', async () => {
    const backend = await backendWith();
    const { server } = backend;
    try {
      expect((await request(server).get(`/api/osp/resources/status?entityRef=${ref}`)).status).toBe(401);
      expect((await request(server).post('/api/osp/claims/preview').send({ definition: 'x', name: 'y' })).status).toBe(401);
      expect(statusCalls).toEqual([]);
    } finally {
      await backend.stop();
    }
  });

  it('tells the page that Delete is not allowed when only reading is', async () => {
    const permissions = mockServices.permissions.mock({
      authorize: jest.fn(async (reqs: { permission: { name: string } }[]) =>
        reqs.map(r => ({ result: r.permission.name === 'osp.resource.delete' ? AuthorizeResult.DENY : AuthorizeResult.ALLOW })),
      ) as never,
    });
    const backend = await backendWithPolicy(permissions);
    try {
      const res = await request(backend.server).get(`/api/osp/resources/status?entityRef=${ref}`).set(auth);
      expect(res.status).toBe(200);
      expect(res.body.allowed).toEqual({ delete: false });
      const del = await request(backend.server).post('/api/osp/resources/delete').set(auth).send({ entityRef: publishedRef });
      expect(del.status).toBe(403);
      expect(publishCalls).toEqual([]);
    } finally {
      await backend.stop();
    }
  });

  it('answers 403 when the policy denies', async () => {
    const backend = await backendWith(AuthorizeResult.DENY);
    const { server } = backend;
    try {
      const status = await request(server).get(`/api/osp/resources/status?entityRef=${ref}`).set(auth);
      expect(status.status).toBe(403);
      expect(status.body.error.message).toMatch(/osp\.resource\.read/);
      const preview = await request(server).post('/api/osp/claims/preview').set(auth).send({ definition: 'x', name: 'y' });
      expect(preview.status).toBe(403);
      expect(preview.body.error.message).toMatch(/osp\.claim\.preview/);
      const del = await request(server).post('/api/osp/resources/delete').set(auth).send({ entityRef: publishedRef });
      expect(del.status).toBe(403);
      expect(del.body.error.message).toMatch(/osp\.resource\.delete/);
      expect(publishCalls).toEqual([]);
      expect(statusCalls).toEqual([]);
    } finally {
      await backend.stop();
    }
  });

  it('asks the policy about the entity, so catalog conditions (owner) apply', async () => {
    const permissions = mockServices.permissions.mock({
      authorize: jest.fn(async (reqs: unknown[]) => reqs.map(() => ({ result: AuthorizeResult.ALLOW }))) as never,
    });
    const backend = await backendWithPolicy(permissions);
    try {
      const res = await request(backend.server).get(`/api/osp/resources/status?entityRef=${ref}`).set(auth);
      expect(res.status).toBe(200);
      const [[requests]] = (permissions.authorize as jest.Mock).mock.calls;
      expect(requests).toEqual([
        { permission: expect.objectContaining({ name: 'osp.resource.read', resourceType: 'catalog-entity' }), resourceRef: ref },
      ]);
      // The page learns whether Delete is allowed on this very entity.
      const asked = (permissions.authorize as jest.Mock).mock.calls.map(([[r]]) => [r.permission.name, r.resourceRef]);
      expect(asked).toContainEqual(['osp.resource.delete', ref]);
    } finally {
      await backend.stop();
    }
  });

  describe('allowed', () => {
    let backend: Awaited<ReturnType<typeof backendWith>>;
    beforeAll(async () => {
      backend = await backendWith();
    });
    afterAll(() => backend?.stop());

    it('proposes deleting a published claim: a pull request removing its file on a branch of its own', async () => {
      const res = await request(backend.server).post('/api/osp/resources/delete').set(auth).send({ entityRef: publishedRef });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        changeKind: 'pull-request',
        url: 'https://gitlab.example.org/acme/platform/gitops/-/merge_requests/4',
        branch: 'osp/claim-prod-team-a-queue-jobs-delete-0a1b2c3d',
      });
      expect(publishCalls).toHaveLength(1);
      expect(publishCalls[0]).toMatchObject({
        repository: 'acme/platform/gitops',
        host: 'gitlab.example.org',
        files: [{ path: 'clusters/prod/team-a/queue/jobs.yaml', delete: true }],
        idempotencyKey: 'delete/claim/prod/team-a/queue/jobs',
        updateKustomization: true,
        entityRefs: [publishedRef],
        title: 'Delete Queue jobs',
      });
    });

    it('deletes a Resource not published through osp from its cluster when direct apply admits it', async () => {
      directDelete = true;
      deleteCalls = [];
      try {
        const status = await request(backend.server).get(`/api/osp/resources/status?entityRef=${ref}`).set(auth);
        expect(status.body.deleteBy).toBe('cluster');
        const res = await request(backend.server).post('/api/osp/resources/delete').set(auth).send({ entityRef: ref });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ changeKind: 'deleted', url: '', branch: '', cluster: 'prod' });
        expect(deleteCalls).toHaveLength(1);
        expect(deleteCalls[0]).toMatchObject({
          cluster: 'prod',
          apiVersion: 'database.example.org/v1alpha1',
          kind: 'PostgreSQLInstance',
          namespace: 'team-a',
          name: 'orders-db',
          dryRun: false,
        });
        expect(deleteCalls[0].caller?.userEntityRef).toMatch(/^user:/);
        expect(publishCalls).toEqual([]);
      } finally {
        directDelete = false;
      }
    });

    it('refuses to delete a Resource that records no repository, naming the field', async () => {
      const res = await request(backend.server).post('/api/osp/resources/delete').set(auth).send({ entityRef: ref });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/^entityRef: .*osp\.dev\/repo-url/);
      const missing = await request(backend.server).post('/api/osp/resources/delete').set(auth).send({});
      expect(missing.status).toBe(400);
      expect(missing.body.error.message).toMatch(/^entityRef: required/);
      expect(publishCalls).toEqual([]);
    });

    it('returns the status tree of a Resource, asked by its annotations', async () => {
      const res = await request(backend.server).get(`/api/osp/resources/status?entityRef=${ref}`).set(auth);
      expect(res.status).toBe(200);
      expect(statusCalls.map(c => [c.cluster, c.apiVersion, c.kind, c.namespace, c.name])).toEqual([
        ['prod', 'database.example.org/v1alpha1', 'PostgreSQLInstance', 'team-a', 'orders-db'],
      ]);
      expect(res.body).toEqual({
        entityRef: ref,
        message: 'Waiting for the database',
        status: { atProvider: { endpoint: 'db.internal' } },
        yaml: 'kind: PostgreSQLInstance\nmetadata:\n  name: orders-db\n',
        allowed: { delete: true },
        deleteBy: 'none',
        root: {
          apiVersion: 'database.example.org/v1alpha1',
          kind: 'PostgreSQLInstance',
          namespace: 'team-a',
          name: 'orders-db',
          state: 'provisioning',
          conditions: [
            { type: 'Synced', status: 'True', reason: 'ReconcileSuccess', message: '', lastTransitionTime: '2026-12-03T10:00:00Z' },
            { type: 'Ready', status: 'False', reason: 'Creating', message: 'Waiting for the database', lastTransitionTime: '2026-12-03T10:00:01Z' },
          ],
          children: [
            {
              apiVersion: 'rds.aws.upbound.io/v1beta1',
              kind: 'Instance',
              namespace: '',
              name: 'orders-db-x7k2p',
              state: 'ready',
              conditions: [],
              children: [],
            },
          ],
        },
      });
    });

    it('says where the definition of a Template is offered: clusters, Compositions, versions', async () => {
      const res = await request(backend.server)
        .get('/api/osp/definitions/summary?entityRef=template:default/xpostgresqlinstances')
        .set(auth);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        entityRef: 'template:default/xpostgresqlinstances',
        definition: 'xpostgresqlinstances.database.example.org',
        kind: 'xrd',
        group: 'database.example.org',
        targetKind: 'PostgreSQLInstance',
        version: 'v1beta1',
        versions: ['v1alpha1', 'v1beta1', 'v1'],
        clusters: [
          { name: 'prod', compositions: ['postgres-aws'] },
          { name: 'staging', compositions: [] },
        ],
      });
      const notOsp = await request(backend.server).get(`/api/osp/definitions/summary?entityRef=${ref}`).set(auth);
      expect(notOsp.status).toBe(404);
      expect(notOsp.body.error.message).toMatch(/osp\.dev\/definition/);
    });

    it('lists its permissions for policies and the permission UI', async () => {
      const res = await request(backend.server)
        .get('/api/osp/.well-known/backstage/permissions/metadata')
        .set({ Authorization: mockCredentials.service.header() });
      expect(res.status).toBe(200);
      expect(res.body.permissions.map((p: { name: string }) => p.name)).toEqual([
        'osp.resource.read',
        'osp.claim.preview',
        'osp.resource.delete',
      ]);
    });

    it('names the field of a bad or missing entityRef (400)', async () => {
      const missing = await request(backend.server).get('/api/osp/resources/status').set(auth);
      expect(missing.status).toBe(400);
      expect(missing.body.error.name).toBe('InputError');
      expect(missing.body.error.message).toMatch(/^entityRef: /);
      const bad = await request(backend.server).get('/api/osp/resources/status?entityRef=resource:default/').set(auth);
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toMatch(/^entityRef: /);
    });

    it('answers 404 for an unknown entity and for a Resource that is not osp', async () => {
      const unknown = await request(backend.server).get('/api/osp/resources/status?entityRef=resource:default/nope').set(auth);
      expect(unknown.status).toBe(404);
      const plain = await request(backend.server).get('/api/osp/resources/status?entityRef=resource:default/bucket').set(auth);
      expect(plain.status).toBe(404);
      expect(plain.body.error.message).toMatch(/not a Resource of the osp catalog provider/);
      expect(statusCalls).toEqual([]);
    });

    it.each([
      [Code.NotFound, 404],
      [Code.PermissionDenied, 403],
      [Code.InvalidArgument, 400],
      [Code.Unavailable, 503],
    ])('keeps the meaning of the sidecar error %s (HTTP %s)', async (code, http) => {
      statusError = new ConnectError('from the sidecar', code);
      const res = await request(backend.server).get(`/api/osp/resources/status?entityRef=${ref}`).set(auth);
      expect(res.status).toBe(http);
      expect(res.body.error.message).toMatch(/from the sidecar/);
    });

    it('previews a claim: manifest, path and idempotency key', async () => {
      const res = await request(backend.server)
        .post('/api/osp/claims/preview')
        .set(auth)
        .send({ definition: 'xpostgresqlinstances.database.example.org', name: 'orders-db', namespace: 'team-a', values: { parameters: { size: 20 } } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        manifest: expect.stringContaining('name: orders-db'),
        violations: [],
        path: 'prod/team-a/orders-db.yaml',
        idempotencyKey: 'claim/prod/team-a/postgresqlinstance/orders-db',
      });
      // The owner defaults to the caller.
      expect(res.body.manifest).toContain('# owner user:default/mock');
    });

    it('returns every violation with its field path as a 200', async () => {
      const res = await request(backend.server)
        .post('/api/osp/claims/preview')
        .set(auth)
        .send({ definition: 'xpostgresqlinstances.database.example.org', name: 'orders-db', values: { parameters: { size: 0 } } });
      expect(res.status).toBe(200);
      expect(res.body.manifest).toBe('');
      expect(res.body.violations).toEqual([
        { field: 'spec.parameters.size', description: 'must be at least 1' },
        { field: 'spec.parameters', description: 'CEL: size must be even' },
      ]);
    });

    it('names the field of a malformed preview body (400) and keeps other sidecar errors', async () => {
      const cases: [object, RegExp][] = [
        [{ name: 'x' }, /^definition: /],
        [{ definition: 'd', name: 3 }, /^name: /],
        [{ definition: 'd', name: 'x', values: [1] }, /^values: /],
        [{ definition: 'd', name: 'x', namespace: 1 }, /^namespace: /],
      ];
      for (const [body, message] of cases) {
        const res = await request(backend.server).post('/api/osp/claims/preview').set(auth).send(body);
        expect(res.status).toBe(400);
        expect(res.body.error.message).toMatch(message);
      }
      const unknown = await request(backend.server)
        .post('/api/osp/claims/preview')
        .set(auth)
        .send({ definition: 'unknown', name: 'x', values: { parameters: { size: 2 } } });
      expect(unknown.status).toBe(404);
    });
  });
});
