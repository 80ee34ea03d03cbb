import type { Entity } from '@backstage/catalog-model';
import { InputError } from '@backstage/errors';

/** Where a Resource's claim is published: what deleting it by pull request needs. */
export interface ClaimSource {
  repoUrl: string;
  path: string;
  idempotencyKey: string;
}

/**
 * The repository, path and key a claim recorded when it was rendered for
 * publishing (`osp.dev/repo-url`, `osp.dev/repo-path`,
 * `osp.dev/idempotency-key`, copied onto its Resource). A claim applied by
 * other means has none: it cannot be deleted from here.
 */
export function claimSourceOf(entity: Entity, ref: string): ClaimSource {
  const source = publishedSourceOf(entity);
  if (!source) {
    throw new InputError(
      `entityRef: ${ref} records no repository (\`osp.dev/repo-url\`, \`osp.dev/repo-path\`, \`osp.dev/idempotency-key\`): it was not published through osp, so it cannot be deleted by pull request, and direct apply does not admit it`,
    );
  }
  return source;
}

/** The recorded source, or undefined for a claim not published through osp. */
export function publishedSourceOf(entity: Entity): ClaimSource | undefined {
  const a = entity.metadata.annotations ?? {};
  const repoUrl = a['osp.dev/repo-url'];
  const path = a['osp.dev/repo-path'];
  const idempotencyKey = a['osp.dev/idempotency-key'];
  if (!repoUrl || !path || !idempotencyKey) return undefined;
  return { repoUrl, path, idempotencyKey };
}
