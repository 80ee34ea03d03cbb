import { InputError } from '@backstage/errors';
import type { UserInfoService } from '@backstage/backend-plugin-api';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import type { OspClient } from '@osp/backstage-client';
import type { z as Zod } from 'zod/v3';
import { callerOf } from './claim';
import { examples } from './publish.examples';

type Z = typeof Zod;

/**
 * The repository a `repoUrl` names: Backstage's `host?owner=o&repo=r` form
 * (what `RepoUrlPicker` produces), or plain `owner/name`.
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
 * `osp:claim:publish`: the sidecar commits the manifest on a branch derived
 * from the idempotency key and opens (or updates) one pull request; running
 * the template again never opens a second one. In a dry-run nothing is
 * published.
 */
export function createPublishClaimAction(options: {
  client: OspClient;
  userInfo?: UserInfoService;
}) {
  return createTemplateAction({
    id: 'osp:claim:publish',
    description:
      'Publishes a rendered manifest as a GitHub pull request through the osp sidecar (idempotent per key)',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        repoUrl: (z: Z) =>
          z.string().describe('Target repository, `github.com?owner=o&repo=r` (RepoUrlPicker) or `owner/name`'),
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
          z.array(z.string()).optional().describe('GitHub logins to request reviews from'),
      },
      output: {
        pullRequestUrl: (z: Z) => z.string().describe('Web URL of the pull request'),
        pullRequestNumber: (z: Z) => z.number().describe('Pull request number'),
        branch: (z: Z) => z.string().describe('Head branch'),
        created: (z: Z) =>
          z.boolean().describe('True when a new pull request was opened'),
      },
    },
    async handler(ctx) {
      const { host, repository } = repositoryOf(ctx.input.repoUrl);
      const title = ctx.input.title || `Add ${ctx.input.path}`;
      if (ctx.isDryRun) {
        ctx.logger.info(
          `dry run: would open "${title}" on ${repository} with ${ctx.input.path} (key ${ctx.input.idempotencyKey})`,
        );
        ctx.output('pullRequestUrl', `https://${host}/${repository}/pulls`);
        ctx.output('pullRequestNumber', 0);
        ctx.output('branch', '');
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
        },
        { signal: ctx.signal },
      );
      ctx.logger.info(
        `${res.created ? 'opened' : res.unchanged ? 'unchanged' : 'updated'} pull request ${res.url}`,
      );
      ctx.output('pullRequestUrl', res.url);
      ctx.output('pullRequestNumber', Number(res.number));
      ctx.output('branch', res.branch);
      ctx.output('created', res.created);
    },
  });
}
