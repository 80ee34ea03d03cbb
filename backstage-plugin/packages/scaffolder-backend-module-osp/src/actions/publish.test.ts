import { create } from '@bufbuild/protobuf';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { CreatePullRequestResponseSchema } from '@osp/backstage-client';
import { createPublishClaimAction, repositoryOf } from './publish';
import { asClient, jane, mockClient } from './testing';

const input = {
  repoUrl: 'github.com?owner=acme&repo=claims',
  manifest: 'kind: PostgreSQLInstance\n',
  path: 'claims/team-a/orders-db.yaml',
  idempotencyKey: 'claim/default/team-a/postgresqlinstance/orders-db',
  labels: ['osp'],
  reviewers: ['bob'],
  draft: true,
};

describe('osp:claim:publish', () => {
  it('opens the pull request through the sidecar', async () => {
    const client = mockClient();
    client.publish.createPullRequest.mockResolvedValue(
      create(CreatePullRequestResponseSchema, {
        url: 'https://github.com/acme/claims/pull/7',
        number: 7n,
        branch: 'osp/claim-default-team-a',
        created: true,
      }),
    );
    const action = createPublishClaimAction({ client: asClient(client) });
    const ctx = createMockActionContext({ input, user: jane as never });

    await action.handler(ctx as never);

    expect(client.publish.createPullRequest.mock.calls[0][0]).toMatchObject({
      repository: 'acme/claims',
      baseBranch: '',
      files: [{ path: input.path, content: input.manifest }],
      title: 'Add claims/team-a/orders-db.yaml',
      labels: ['osp'],
      reviewers: ['bob'],
      draft: true,
      idempotencyKey: input.idempotencyKey,
      caller: { userEntityRef: 'user:default/jane' },
    });
    expect(ctx.output).toHaveBeenCalledWith('pullRequestUrl', 'https://github.com/acme/claims/pull/7');
    expect(ctx.output).toHaveBeenCalledWith('pullRequestNumber', 7);
    expect(ctx.output).toHaveBeenCalledWith('branch', 'osp/claim-default-team-a');
    expect(ctx.output).toHaveBeenCalledWith('created', true);
  });

  it('publishes nothing in a dry-run', async () => {
    const client = mockClient();
    const action = createPublishClaimAction({ client: asClient(client) });
    const ctx = { ...createMockActionContext({ input }), isDryRun: true };
    await action.handler(ctx as never);
    expect(client.publish.createPullRequest).not.toHaveBeenCalled();
    expect(ctx.output).toHaveBeenCalledWith('pullRequestUrl', 'https://github.com/acme/claims/pulls');
    expect(ctx.output).toHaveBeenCalledWith('created', false);
  });

  it.each([
    { reason: 'RepoUrlPicker form', repoUrl: 'github.com?owner=o&repo=r', want: 'o/r', host: 'github.com' },
    { reason: 'enterprise host', repoUrl: 'ghe.example.com?repo=r&owner=o', want: 'o/r', host: 'ghe.example.com' },
    { reason: 'plain owner/name', repoUrl: 'o/r', want: 'o/r', host: 'github.com' },
  ])('parses repoUrl: $reason', ({ repoUrl, want, host }) => {
    expect(repositoryOf(repoUrl)).toEqual({ repository: want, host });
  });

  it.each([
    { reason: 'no owner', repoUrl: 'github.com?repo=r' },
    { reason: 'no repo', repoUrl: 'github.com?owner=o' },
  ])('rejects repoUrl with $reason', ({ repoUrl }) => {
    expect(() => repositoryOf(repoUrl)).toThrow(/invalid repoUrl/);
  });
});
