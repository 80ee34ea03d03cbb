import { InputError } from '@backstage/errors';
import type { UserInfoService } from '@backstage/backend-plugin-api';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { ChangeKind, type CreatePullRequestResponse, type OspClient } from '@osp/backstage-client';
import type { z as Zod } from 'zod/v3';
import { callerOf } from './claim';
import { examples } from './publish.examples';

type Z = typeof Zod;

/**
 * The repository a `repoUrl` names: Backstage's `host?owner=o&repo=r` form
 * (what `RepoUrlPicker` produces; on GitLab `owner` may hold subgroups,
 * `group/subgroup`), or plain `owner/name` (GitHub). The sidecar picks the
 * forge by `host`.
 */
export function repositoryOf(repoUrl: string): { host: string; repository: string } {
  if (/^[\w.-]+\/[\w.-]+$/.test(repoUrl)) {
    return { host: 'github.com', repository: repoUrl };
  }
  let url: URL;
  try {
    url = new URL(/^https?:\/\//.test(repoUrl) ? repoUrl : `https://${repoUrl}`);
  } catch {
    throw new InputError(`invalid repoUrl \`${repoUrl}\`: expected \`host?owner=o&repo=r\``);
  }
  const owner = url.searchParams.get('owner') ?? url.searchParams.get('organization');
  const repo = url.searchParams.get('repo');
  if (!owner || !repo) {
    throw new InputError(
      `invalid repoUrl \`${repoUrl}\`: missing \`owner\` or \`repo\` (expected \`host?owner=o&repo=r\`)`,
    );
  }
  return { host: url.host, repository: `${owner}/${repo}` };
}

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

/**
 * `osp:claim:publish`: the sidecar commits the manifest on a branch derived
 * from the idempotency key and opens (or updates) one pull request, or, for
 * a local Git target, leaves the commit on that branch (`changeKind`
 * `local-branch`, no URL); running the template again never opens a second
 * one. In a dry-run nothing is published (`changeKind` `none`).
 */
export function createPublishClaimAction(options: {
  client: OspClient;
  userInfo?: UserInfoService;
}) {
  return createTemplateAction({
    id: 'osp:claim:publish',
    description:
      'Publishes a rendered manifest through the osp sidecar: a GitHub pull request, a GitLab merge request, or a commit on a branch of a local Git target (idempotent per key)',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        repoUrl: (z: Z) =>
          z
            .string()
            .describe(
              'Target repository: `github.com?owner=o&repo=r` or `gitlab.example.org?owner=group/subgroup&repo=r` (RepoUrlPicker), or `owner/name` on GitHub',
            ),
        manifest: (z: Z) => z.string().describe('File content, usually the render output'),
        path: (z: Z) => z.string().describe('Repository path of the file'),
        idempotencyKey: (z: Z) =>
          z.string().min(1).describe('Same key, same branch and pull request'),
        title: (z: Z) => z.string().optional().describe('Pull request title'),
        description: (z: Z) => z.string().optional().describe('Pull request body (Markdown)'),
        baseBranch: (z: Z) =>
          z.string().optional().describe("Base branch; the repository's default when empty"),
        draft: (z: Z) => z.boolean().optional().describe('Open as a draft'),
        labels: (z: Z) => z.array(z.string()).optional().describe('Labels to set'),
        reviewers: (z: Z) =>
          z.array(z.string()).optional().describe('GitHub logins or GitLab usernames to request reviews from'),
        updateKustomization: (z: Z) =>
          z
            .boolean()
            .optional()
            .describe(
              "Also add the file to the `kustomization.yaml` in its folder (created when missing), so Flux or Argo CD picks it up; generated Templates set it when the definition is annotated `osp.dev/kustomization: \"true\"`",
            ),
      },
      output: {
        changeKind: (z: Z) =>
          z
            .enum(['pull-request', 'local-branch', 'none'])
            .describe(
              '`pull-request` (on GitHub/GHE), `local-branch` (a commit on a branch of a local Git target, no web page) or `none` (nothing changed, or a dry run)',
            ),
        changeUrl: (z: Z) =>
          z.string().describe('Web URL of the change (the pull request); empty when there is none'),
        pullRequestUrl: (z: Z) =>
          z.string().describe('Web URL of the pull request; empty unless `changeKind` is `pull-request`'),
        pullRequestNumber: (z: Z) =>
          z.number().describe('Pull request number; 0 unless `changeKind` is `pull-request`'),
        branch: (z: Z) => z.string().describe('Branch holding the change'),
        commit: (z: Z) => z.string().describe('SHA of the commit on `branch`; empty when nothing changed'),
        created: (z: Z) =>
          z.boolean().describe('True when a new pull request (or local branch) was created'),
      },
    },
    async handler(ctx) {
      const { host, repository } = repositoryOf(ctx.input.repoUrl);
      const title = ctx.input.title || `Add ${ctx.input.path}`;
      if (ctx.isDryRun) {
        // Nothing is published, so there is no change to link to (whether
        // the repository is on a forge or a local target is the sidecar's
        // to know).
        ctx.logger.info(
          `dry run: would publish "${title}" to ${repository} on ${host} with ${ctx.input.path} (key ${ctx.input.idempotencyKey})`,
        );
        ctx.output('changeKind', 'none');
        ctx.output('changeUrl', '');
        ctx.output('pullRequestUrl', '');
        ctx.output('pullRequestNumber', 0);
        ctx.output('branch', '');
        ctx.output('commit', '');
        ctx.output('created', false);
        return;
      }
      const caller = await callerOf(ctx, options.userInfo);
      const res = await options.client.publish.createPullRequest(
        {
          repository,
          baseBranch: ctx.input.baseBranch ?? '',
          files: [{ path: ctx.input.path, content: ctx.input.manifest }],
          title,
          body: ctx.input.description ?? '',
          labels: ctx.input.labels ?? [],
          reviewers: ctx.input.reviewers ?? [],
          draft: ctx.input.draft ?? false,
          idempotencyKey: ctx.input.idempotencyKey,
          caller,
          updateKustomization: ctx.input.updateKustomization ?? false,
          host,
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
            : `nothing to publish: ${repository} already holds ${ctx.input.path}`,
      );
      const pullRequest = change.kind === 'pull-request';
      ctx.output('changeKind', change.kind);
      ctx.output('changeUrl', change.url);
      ctx.output('pullRequestUrl', pullRequest ? change.url : '');
      ctx.output('pullRequestNumber', pullRequest ? Number(res.number) : 0);
      ctx.output('branch', res.branch);
      ctx.output('commit', res.commitSha);
      ctx.output('created', res.created);
    },
  });
}
