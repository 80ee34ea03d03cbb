import { InputError } from '@backstage/errors';

// Where a change goes, shared by the scaffolder actions and the osp backend
// plugin's delete route: one reading of a repoUrl, one deletion key.

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
 * The idempotency key of a claim's deletion: its own branch and pull
 * request, apart from the creation's (which may be merged and gone). A
 * prefix, so the branch still ends with the claim's name.
 */
export function deleteKeyOf(idempotencyKey: string): string {
  return `delete/${idempotencyKey.replace(/^\/+|\/+$/g, '')}`;
}

