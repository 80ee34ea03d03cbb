import { create } from '@bufbuild/protobuf';
import { ConflictError } from '@backstage/errors';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { ApplyClaimResponseSchema } from '@osp/backstage-client';
import { createApplyClaimAction } from './apply';
import { asClient, jane, mockClient } from './testing';

const input = {
  definition: 'xpostgresqlinstances.database.example.org',
  name: 'orders-db',
  namespace: 'team-a',
  owner: 'group:default/team-a',
  values: { parameters: { storageGB: 20 } },
  cluster: 'dev',
};

function applied(dryRun: boolean) {
  return create(ApplyClaimResponseSchema, {
    applied: { yaml: 'kind: PostgreSQLInstance\n' },
    cluster: 'dev',
    dryRun,
    uid: dryRun ? '' : '1234',
  });
}

describe('osp:claim:apply', () => {
  it('applies as the user and outputs the applied object', async () => {
    const client = mockClient();
    client.claims.applyClaim.mockResolvedValue(applied(false));
    const action = createApplyClaimAction({ client: asClient(client) });
    const ctx = createMockActionContext({
      input,
      user: jane as never,
      templateInfo: { entityRef: 'template:default/xpostgresqlinstances' },
    });

    await action.handler(ctx as never);

    expect(client.claims.applyClaim.mock.calls[0][0]).toMatchObject({
      dryRun: false,
      render: {
        name: 'orders-db',
        cluster: 'dev',
        caller: { userEntityRef: 'user:default/jane' },
        // Provenance: the running task's template.
        templateRef: 'template:default/xpostgresqlinstances',
      },
    });
    expect(ctx.output).toHaveBeenCalledWith('manifest', 'kind: PostgreSQLInstance\n');
    expect(ctx.output).toHaveBeenCalledWith('uid', '1234');
  });

  it.each([
    { reason: 'the dryRun input', dryRun: true, isDryRun: false },
    { reason: 'a template dry-run', dryRun: undefined, isDryRun: true },
  ])('asks for a server-side dry-run on $reason', async ({ dryRun, isDryRun }) => {
    const client = mockClient();
    client.claims.applyClaim.mockResolvedValue(applied(true));
    const action = createApplyClaimAction({ client: asClient(client) });
    const ctx = { ...createMockActionContext({ input: { ...input, dryRun } }), isDryRun };
    await action.handler(ctx as never);
    expect(client.claims.applyClaim.mock.calls[0][0].dryRun).toBe(true);
    expect(ctx.output).toHaveBeenCalledWith('uid', '');
  });

  it('reports apply disabled on the sidecar', async () => {
    const client = mockClient();
    client.claims.applyClaim.mockRejectedValue(new ConflictError('direct apply is disabled'));
    const action = createApplyClaimAction({ client: asClient(client) });
    const ctx = createMockActionContext({ input });
    await expect(action.handler(ctx as never)).rejects.toBeInstanceOf(ConflictError);
  });
});
