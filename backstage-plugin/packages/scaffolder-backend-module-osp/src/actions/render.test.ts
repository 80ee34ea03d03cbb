import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { InputError } from '@backstage/errors';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { RenderClaimResponseSchema } from '@osp/backstage-client';
import { createRenderClaimAction } from './render';
import { asClient, jane, mockClient, workspace } from './testing';

const manifest = 'apiVersion: database.example.org/v1alpha1\nkind: PostgreSQLInstance\n';

function rendered(path: string, fromSidecar: { idempotencyKey?: string; entityRef?: string } = {}) {
  return create(RenderClaimResponseSchema, {
    manifest: { yaml: manifest },
    path,
    apiVersion: 'database.example.org/v1alpha1',
    kind: 'PostgreSQLInstance',
    isClaim: true,
    warnings: [{ path: 'spec.size', message: 'coerced to an integer' }],
    ...fromSidecar,
  });
}

/** What the sidecar answers for `input` (its key and the catalog's ref). */
const sidecarIds = {
  idempotencyKey: 'claim/default/team-a/postgresqlinstance/orders-db',
  entityRef: 'resource:default/orders-db.postgresqlinstance.team-a.default',
};

const input = {
  definition: 'xpostgresqlinstances.database.example.org',
  name: 'orders-db',
  namespace: 'team-a',
  owner: 'group:default/team-a',
  values: { parameters: { storageGB: 20, big: 9007199254740993n.toString() } },
  composition: { compositionName: 'aws', updatePolicy: 'Manual' },
  templateRef: 'template:default/xpostgresqlinstances',
};

describe('osp:claim:render', () => {
  it('writes the manifest into the workspace and outputs it', async () => {
    const client = mockClient();
    client.claims.renderClaim.mockResolvedValue(rendered('claims/team-a/orders-db.yaml', sidecarIds));
    const action = createRenderClaimAction({ client: asClient(client) });
    const ctx = createMockActionContext({ input, workspacePath: workspace(), user: jane as never });

    await action.handler(ctx as never);

    expect(readFileSync(join(ctx.workspacePath, 'claims/team-a/orders-db.yaml'), 'utf8')).toBe(manifest);
    expect(ctx.output).toHaveBeenCalledWith('manifest', manifest);
    expect(ctx.output).toHaveBeenCalledWith('path', 'claims/team-a/orders-db.yaml');
    expect(ctx.output).toHaveBeenCalledWith('apiVersion', 'database.example.org/v1alpha1');
    expect(ctx.output).toHaveBeenCalledWith('kind', 'PostgreSQLInstance');
    expect(ctx.output).toHaveBeenCalledWith('idempotencyKey', sidecarIds.idempotencyKey);
    expect(ctx.output).toHaveBeenCalledWith('entityRef', sidecarIds.entityRef);
    const [req] = client.claims.renderClaim.mock.calls[0];
    expect(req).toMatchObject({
      definition: { source: { case: 'name', value: input.definition }, cluster: '' },
      name: 'orders-db',
      namespace: 'team-a',
      owner: 'group:default/team-a',
      templateRef: 'template:default/xpostgresqlinstances',
      composition: { compositionName: 'aws', updatePolicy: 'Manual' },
      caller: {
        userEntityRef: 'user:default/jane',
        ownershipEntityRefs: ['user:default/jane', 'group:default/team-a'],
      },
    });
    expect(JSON.parse(req.valuesJson)).toEqual(input.values);
  });

  it("outputs the sidecar's key and entity ref as they are", async () => {
    const client = mockClient();
    // Keys the client-side rule would never produce: the sidecar's win.
    const ids = { idempotencyKey: 'claim/prod/orders-db', entityRef: 'resource:default/orders-db-1a2b3c4d' };
    client.claims.renderClaim.mockResolvedValue(rendered('x.yaml', ids));
    const action = createRenderClaimAction({ client: asClient(client) });
    const ctx = createMockActionContext({ input, workspacePath: workspace() });
    await action.handler(ctx as never);
    expect(ctx.output).toHaveBeenCalledWith('idempotencyKey', ids.idempotencyKey);
    expect(ctx.output).toHaveBeenCalledWith('entityRef', ids.entityRef);
  });

  it.each([
    {
      reason: 'an empty templateRef input takes the running task\'s template',
      templateRef: undefined,
      templateInfo: { entityRef: 'template:default/xpostgresqlinstances' },
      want: 'template:default/xpostgresqlinstances',
    },
    {
      reason: 'an empty string counts as not given',
      templateRef: '',
      templateInfo: { entityRef: 'template:team-a/postgres' },
      want: 'template:team-a/postgres',
    },
    {
      reason: 'an explicit templateRef input wins',
      templateRef: 'template:default/other',
      templateInfo: { entityRef: 'template:default/xpostgresqlinstances' },
      want: 'template:default/other',
    },
    {
      reason: 'no template info and no input: no provenance',
      templateRef: undefined,
      templateInfo: undefined,
      want: '',
    },
  ])('sends provenance: $reason', async ({ templateRef, templateInfo, want }) => {
    const client = mockClient();
    client.claims.renderClaim.mockResolvedValue(rendered('x.yaml', sidecarIds));
    const action = createRenderClaimAction({ client: asClient(client) });
    const ctx = createMockActionContext({
      input: { ...input, templateRef },
      templateInfo,
      workspacePath: workspace(),
    });
    await action.handler(ctx as never);
    expect(client.claims.renderClaim.mock.calls[0][0].templateRef).toBe(want);
  });

  it('passes the cluster and uses the sidecar\'s path and key for a cluster-scoped XR', async () => {
    const client = mockClient();
    client.claims.renderClaim.mockResolvedValue(
      rendered('prod/postgresqlinstance/orders-db.yaml', {
        idempotencyKey: 'claim/prod/postgresqlinstance/orders-db',
      }),
    );
    const action = createRenderClaimAction({ client: asClient(client) });
    const ctx = createMockActionContext({
      input: { ...input, namespace: undefined, cluster: 'prod' },
      workspacePath: workspace(),
    });

    await action.handler(ctx as never);

    expect(ctx.output).toHaveBeenCalledWith('path', 'prod/postgresqlinstance/orders-db.yaml');
    expect(ctx.output).toHaveBeenCalledWith('idempotencyKey', 'claim/prod/postgresqlinstance/orders-db');
    expect(ctx.output).toHaveBeenCalledWith('entityRef', '');
    expect(client.claims.renderClaim.mock.calls[0][0]).toMatchObject({
      cluster: 'prod',
      definition: { cluster: 'prod' },
      caller: { userEntityRef: '', ownershipEntityRefs: [] },
    });
  });

  it('computes no path or key of its own: an answer without them fails', async () => {
    const client = mockClient();
    client.claims.renderClaim.mockResolvedValue(rendered(''));
    const action = createRenderClaimAction({ client: asClient(client) });
    const ctx = createMockActionContext({ input, workspacePath: workspace() });

    await expect(action.handler(ctx as never)).rejects.toThrow(
      'without `path` and `idempotencyKey`: upgrade the sidecar',
    );
    expect(ctx.output).not.toHaveBeenCalled();
  });

  it('refuses a suggested path outside the workspace', async () => {
    const client = mockClient();
    client.claims.renderClaim.mockResolvedValue(rendered('../../etc/evil.yaml', sidecarIds));
    const action = createRenderClaimAction({ client: asClient(client) });
    const ctx = createMockActionContext({ input, workspacePath: workspace() });
    await expect(action.handler(ctx as never)).rejects.toThrow(/outside/);
  });

  it('lets the InputError naming the fields through', async () => {
    const client = mockClient();
    client.claims.renderClaim.mockRejectedValue(
      new InputError('osp sidecar ClaimService.RenderClaim: invalid (spec.parameters.storageGB: must be >= 1)'),
    );
    const action = createRenderClaimAction({ client: asClient(client) });
    const ctx = createMockActionContext({ input, workspacePath: workspace() });
    await expect(action.handler(ctx as never)).rejects.toThrow(/spec\.parameters\.storageGB/);
    expect(ctx.output).not.toHaveBeenCalled();
  });

  it('supports dry-run and documents itself', () => {
    const action = createRenderClaimAction({ client: asClient(mockClient()) });
    expect(action.supportsDryRun).toBe(true);
    expect(action.examples?.length).toBeGreaterThan(0);
    const schema = action.schema?.input as { required?: string[] };
    expect(schema.required).toEqual(expect.arrayContaining(['definition', 'name', 'owner']));
  });
});
