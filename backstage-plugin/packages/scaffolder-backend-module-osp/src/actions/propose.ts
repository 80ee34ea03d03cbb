import type { UserInfoService } from '@backstage/backend-plugin-api';
import type { ActionContext } from '@backstage/plugin-scaffolder-node';
import {
  ChangeKind,
  repositoryOf,
  type CreatePullRequestResponse,
  type OspClient,
} from '@osp/backstage-client';
import type { JsonObject } from '@backstage/types';
import type { z as Zod } from 'zod/v3';
import { callerOf } from './claim';

type Z = typeof Zod;

export { repositoryOf };

/**
 * The `changeKind` output: what the publication left for people to review.
 * The generated Templates show the "Pull request" link only for
 * `pull-request`, and the branch and commit for `local-branch`.
 */
export type ChangeKindOutput = 'pull-request' | 'local-branch' | 'none';

/**
 * The change a response reports. A sidecar older than `change_kind` sends
 * none; its local targets answered with a `file://` URL and number 0, so
 * only an http(s) URL counts as a pull request there.
 */
export function changeOf(res: Pick<CreatePullRequestResponse, 'changeKind' | 'url' | 'commitSha'>): {
  kind: ChangeKindOutput;
  url: string;
} {
  switch (res.changeKind) {
    case ChangeKind.PULL_REQUEST:
      return { kind: 'pull-request', url: res.url };
    case ChangeKind.LOCAL_BRANCH:
      return { kind: 'local-branch', url: '' };
    case ChangeKind.NONE:
      return { kind: 'none', url: '' };
    default:
      if (/^https?:\/\//.test(res.url)) return { kind: 'pull-request', url: res.url };
      return { kind: res.commitSha ? 'local-branch' : 'none', url: '' };
  }
}

/** Inputs every action that proposes a change takes. */
export const changeInputs = {
  repoUrl: (z: Z) =>
    z
      .string()
      .describe(
        'Target repository: `github.com?owner=o&repo=r` or `gitlab.example.org?owner=group/subgroup&repo=r` (RepoUrlPicker), or `owner/name` on GitHub',
      ),
  title: (z: Z) => z.string().optional().describe('Pull request title'),
  description: (z: Z) =>
    z
      .string()
      .optional()
      .describe('Pull request body (Markdown); the sidecar adds who asked, with which template, for what'),
  baseBranch: (z: Z) =>
    z.string().optional().describe("Base branch; the repository's default when empty"),
  draft: (z: Z) => z.boolean().optional().describe('Open as a draft'),
  labels: (z: Z) => z.array(z.string()).optional().describe('Labels to set'),
  reviewers: (z: Z) =>
    z
      .array(z.string())
      .optional()
      .describe('GitHub logins or GitLab usernames to request reviews from'),
  token: (z: Z) =>
    z
      .string()
      .optional()
      .describe(
        "The requester's own forge token, e.g. `${{ secrets.USER_OAUTH_TOKEN }}` from RepoUrlPicker's `requestUserCredentials`: the change is authored as them. Used for this publication only; without it, the sidecar's configured credential",
      ),
  entityRefs: (z: Z) =>
    z
      .array(z.string())
      .optional()
      .describe('Catalog entities the change is about (named in the body and commit trailers)'),
};

/** Outputs of every action that proposes a change. */
export const changeOutputs = {
  changeKind: (z: Z) =>
    z
      .enum(['pull-request', 'local-branch', 'none'])
      .describe(
        '`pull-request` (a pull request on GitHub/GHE, a merge request on GitLab), `local-branch` (a commit on a branch of a local Git target, no web page) or `none` (nothing changed, or a dry run)',
      ),
  changeUrl: (z: Z) =>
    z.string().describe('Web URL of the change (the pull request); empty when there is none'),
  pullRequestUrl: (z: Z) =>
    z.string().describe('Web URL of the pull request; empty unless `changeKind` is `pull-request`'),
  pullRequestNumber: (z: Z) =>
    z.number().describe('Pull request number (GitLab: the merge request iid); 0 unless `changeKind` is `pull-request`'),
  branch: (z: Z) => z.string().describe('Branch holding the change'),
  commit: (z: Z) => z.string().describe('SHA of the commit on `branch`; empty when nothing changed'),
  created: (z: Z) =>
    z.boolean().describe('True when a new pull request (or local branch) was created'),
};

/** The inputs of [`changeInputs`], as the handler sees them. */
type ChangeInput = {
  repoUrl: string;
  title?: string;
  description?: string;
  baseBranch?: string;
  draft?: boolean;
  labels?: string[];
  reviewers?: string[];
  token?: string;
  entityRefs?: string[];
};

/** What one action proposes. */
export type Proposal = {
  files: { path: string; content?: string; delete?: boolean }[];
  idempotencyKey: string;
  defaultTitle: string;
  updateKustomization: boolean;
};

/** What [`propose`] uses of an action's context. */
type ProposeContext = Pick<
  ActionContext<JsonObject>,
  'isDryRun' | 'logger' | 'signal' | 'templateInfo' | 'user' | 'getInitiatorCredentials'
> & {
  input: ChangeInput;
  // Method syntax: each action's typed `output` fits.
  output(name: string, value: string | number | boolean): void;
};

/**
 * Proposes a change through the sidecar and sets the outputs; in a dry run
 * nothing is sent and the outputs say so (`none`).
 */
export async function propose(
  ctx: ProposeContext,
  options: { client: OspClient; userInfo?: UserInfoService },
  p: Proposal,
): Promise<void> {
  const { host, repository } = repositoryOf(ctx.input.repoUrl);
  const title = ctx.input.title || p.defaultTitle;
  if (ctx.isDryRun) {
    ctx.logger.info(`dry run: would propose "${title}" to ${repository} on ${host} (key ${p.idempotencyKey})`);
    setOutputs(ctx, { kind: 'none', url: '' }, undefined);
    return;
  }
  const caller = await callerOf(ctx, options.userInfo);
  const res = await options.client.publish.createPullRequest(
    {
      repository,
      host,
      baseBranch: ctx.input.baseBranch ?? '',
      files: p.files.map(f => ({ path: f.path, content: f.content ?? '', delete: f.delete ?? false })),
      title,
      body: ctx.input.description ?? '',
      labels: ctx.input.labels ?? [],
      reviewers: ctx.input.reviewers ?? [],
      draft: ctx.input.draft ?? false,
      idempotencyKey: p.idempotencyKey,
      caller,
      updateKustomization: p.updateKustomization,
      // Never logged here: it goes to the sidecar for this publication only.
      userToken: ctx.input.token ?? '',
      templateRef: ctx.templateInfo?.entityRef ?? '',
      entityRefs: ctx.input.entityRefs ?? [],
    },
    { signal: ctx.signal },
  );
  const change = changeOf(res);
  const state = res.created ? 'created' : res.unchanged ? 'unchanged' : 'updated';
  ctx.logger.info(
    change.kind === 'pull-request'
      ? `${state} pull request ${change.url}`
      : change.kind === 'local-branch'
        ? `${state} local branch ${res.branch} of ${repository} at ${res.commitSha}`
        : `nothing to change: ${repository} already holds the change`,
  );
  setOutputs(ctx, change, res);
}

function setOutputs(
  ctx: Pick<ProposeContext, 'output'>,
  change: { kind: ChangeKindOutput; url: string },
  res: CreatePullRequestResponse | undefined,
): void {
  const pullRequest = change.kind === 'pull-request';
  ctx.output('changeKind', change.kind);
  ctx.output('changeUrl', change.url);
  ctx.output('pullRequestUrl', pullRequest ? change.url : '');
  ctx.output('pullRequestNumber', pullRequest && res ? Number(res.number) : 0);
  ctx.output('branch', res?.branch ?? '');
  ctx.output('commit', res?.commitSha ?? '');
  ctx.output('created', res?.created ?? false);
}
