import { create } from '@bufbuild/protobuf';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { ChangeKind, CreatePullRequestResponseSchema } from '@osp/backstage-client';
import { changeOf, createPublishClaimAction, repositoryOf } from './publish';
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

/** Every output the action set, by name. */
function outputs(ctx: { output: jest.Mock | ((...args: never[]) => void) }): Record<string, unknown> {
  return Object.fromEntries((ctx.output as jest.Mock).mock.calls);
}

describe('osp:claim:publish', () => {
  it('opens the pull request through the sidecar', async () => {
    const client = mockClient();
    client.publish.createPullRequest.mockResolvedValue(
      create(CreatePullRequestResponseSchema, {
        changeKind: ChangeKind.PULL_REQUEST,
        url: 'https://github.com/acme/claims/pull/7',
        number: 7n,
        branch: 'osp/claim-default-team-a',
        commitSha: 'c0ffee',
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
      updateKustomization: false,
      host: 'github.com',
    });
    expect(outputs(ctx)).toEqual({
      changeKind: 'pull-request',
      changeUrl: 'https://github.com/acme/claims/pull/7',
      pullRequestUrl: 'https://github.com/acme/claims/pull/7',
      pullRequestNumber: 7,
      branch: 'osp/claim-default-team-a',
      commit: 'c0ffee',
      created: true,
    });
  });

  it('asks the sidecar to keep the kustomization when the input says so', async () => {
    const client = mockClient();
    client.publish.createPullRequest.mockResolvedValue(
      create(CreatePullRequestResponseSchema, { changeKind: ChangeKind.PULL_REQUEST, url: 'https://x/pull/1' }),
    );
    const action = createPublishClaimAction({ client: asClient(client) });
    const ctx = createMockActionContext({ input: { ...input, updateKustomization: true }, user: jane as never });

    await action.handler(ctx as never);

    expect(client.publish.createPullRequest.mock.calls[0][0]).toMatchObject({ updateKustomization: true });
  });

  it('reports a local Git target as a branch and commit, with no URL', async () => {
    const client = mockClient();
    client.publish.createPullRequest.mockResolvedValue(
      create(CreatePullRequestResponseSchema, {
        changeKind: ChangeKind.LOCAL_BRANCH,
        branch: 'osp/claim-default-team-a',
        commitSha: 'c0ffee',
        created: true,
      }),
    );
    const action = createPublishClaimAction({ client: asClient(client) });
    const ctx = createMockActionContext({ input, user: jane as never });
    await action.handler(ctx as never);
    expect(outputs(ctx)).toEqual({
      changeKind: 'local-branch',
      changeUrl: '',
      pullRequestUrl: '',
      pullRequestNumber: 0,
      branch: 'osp/claim-default-team-a',
      commit: 'c0ffee',
      created: true,
    });
  });

  it('publishes nothing in a dry-run, so links to nothing', async () => {
    const client = mockClient();
    const action = createPublishClaimAction({ client: asClient(client) });
    const ctx = { ...createMockActionContext({ input }), isDryRun: true };
    await action.handler(ctx as never);
    expect(client.publish.createPullRequest).not.toHaveBeenCalled();
    expect(outputs(ctx)).toEqual({
      changeKind: 'none',
      changeUrl: '',
      pullRequestUrl: '',
      pullRequestNumber: 0,
      branch: '',
      commit: '',
      created: false,
    });
  });

  it.each([
    {
      reason: 'a pull request',
      res: { changeKind: ChangeKind.PULL_REQUEST, url: 'https://ghe.example.com/o/r/pull/1', commitSha: 'a' },
      want: { kind: 'pull-request', url: 'https://ghe.example.com/o/r/pull/1' },
    },
    {
      reason: 'a local branch, whatever url says',
      res: { changeKind: ChangeKind.LOCAL_BRANCH, url: 'file:///data/gitops.git', commitSha: 'a' },
      want: { kind: 'local-branch', url: '' },
    },
    {
      reason: 'nothing to propose',
      res: { changeKind: ChangeKind.NONE, url: '', commitSha: '' },
      want: { kind: 'none', url: '' },
    },
    {
      reason: "an older sidecar's pull request",
      res: { changeKind: ChangeKind.UNSPECIFIED, url: 'https://github.com/o/r/pull/2', commitSha: 'a' },
      want: { kind: 'pull-request', url: 'https://github.com/o/r/pull/2' },
    },
    {
      reason: "an older sidecar's local target: its file:// URL is no web page",
      res: { changeKind: ChangeKind.UNSPECIFIED, url: 'file:///data/gitops.git', commitSha: 'a' },
      want: { kind: 'local-branch', url: '' },
    },
    {
      reason: 'an older sidecar with nothing to propose',
      res: { changeKind: ChangeKind.UNSPECIFIED, url: '', commitSha: '' },
      want: { kind: 'none', url: '' },
    },
  ])('tells the change: $reason', ({ res, want }) => {
    expect(changeOf(res)).toEqual(want);
  });

  it.each([
    { reason: 'RepoUrlPicker form', repoUrl: 'github.com?owner=o&repo=r', want: 'o/r', host: 'github.com' },
    { reason: 'enterprise host', repoUrl: 'ghe.example.com?repo=r&owner=o', want: 'o/r', host: 'ghe.example.com' },
    { reason: 'plain owner/name', repoUrl: 'o/r', want: 'o/r', host: 'github.com' },
    {
      reason: 'GitLab project in a subgroup',
      repoUrl: 'gitlab.com?owner=acme%2Fplatform&repo=gitops',
      want: 'acme/platform/gitops',
      host: 'gitlab.com',
    },
    {
      reason: 'self-managed GitLab, owner unencoded',
      repoUrl: 'gitlab.example.org?owner=acme/platform&repo=gitops',
      want: 'acme/platform/gitops',
      host: 'gitlab.example.org',
    },
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
