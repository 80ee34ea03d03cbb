import { create } from '@bufbuild/protobuf';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { ChangeKind, CreatePullRequestResponseSchema } from '@osp/backstage-client';
import { createDeleteClaimAction, deleteKeyOf } from './delete';
import { asClient, jane, mockClient } from './testing';

const input = {
  repoUrl: 'gitlab.example.org?owner=acme%2Fplatform&repo=gitops',
  path: 'clusters/east/team-a/queue/jobs.yaml',
  idempotencyKey: 'claim/east/team-a/queue/jobs',
};

describe('osp:claim:delete', () => {
  it('proposes removing the file and its kustomization entry on its own branch', async () => {
    const client = mockClient();
    client.publish.createPullRequest.mockResolvedValue(
      create(CreatePullRequestResponseSchema, {
        changeKind: ChangeKind.PULL_REQUEST,
        url: 'https://gitlab.example.org/acme/platform/gitops/-/merge_requests/3',
        number: 3n,
        branch: 'osp/claim-east-team-a-queue-jobs-delete-1a2b3c4d',
        created: true,
      }),
    );
    const action = createDeleteClaimAction({ client: asClient(client) });
    const ctx = createMockActionContext({
      input: { ...input, token: 'user-oauth-token', entityRefs: ['resource:default/jobs.queue.team-a.east'] },
      user: jane as never,
      templateInfo: { entityRef: 'template:default/delete-claim' } as never,
    });

    await action.handler(ctx as never);

    expect(client.publish.createPullRequest.mock.calls[0][0]).toMatchObject({
      repository: 'acme/platform/gitops',
      host: 'gitlab.example.org',
      files: [{ path: input.path, content: '', delete: true }],
      title: `Delete ${input.path}`,
      idempotencyKey: 'delete/claim/east/team-a/queue/jobs',
      updateKustomization: true,
      userToken: 'user-oauth-token',
      templateRef: 'template:default/delete-claim',
      entityRefs: ['resource:default/jobs.queue.team-a.east'],
      caller: { userEntityRef: 'user:default/jane' },
    });
    expect(ctx.output).toHaveBeenCalledWith('changeKind', 'pull-request');
    expect(ctx.output).toHaveBeenCalledWith('pullRequestNumber', 3);
  });

  it.each([
    { reason: 'an empty path', patch: { path: ' ' }, field: /^path:/ },
    { reason: 'an empty key', patch: { idempotencyKey: '' }, field: /^idempotencyKey:/ },
  ])('refuses $reason, naming the field', async ({ patch, field }) => {
    const client = mockClient();
    const action = createDeleteClaimAction({ client: asClient(client) });
    const ctx = createMockActionContext({ input: { ...input, ...patch } });
    await expect(action.handler(ctx as never)).rejects.toThrow(field);
    expect(client.publish.createPullRequest).not.toHaveBeenCalled();
  });

  it('derives a key of its own, stable across runs', () => {
    expect(deleteKeyOf('claim/east/team-a/queue/jobs')).toBe('delete/claim/east/team-a/queue/jobs');
    expect(deleteKeyOf('claim/x/')).toBe('delete/claim/x');
  });
});
