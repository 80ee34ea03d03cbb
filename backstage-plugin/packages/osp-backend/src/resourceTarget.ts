import type { Entity } from '@backstage/catalog-model';
import { NotFoundError } from '@backstage/errors';
import type { GetResourceStatusRequestSchema } from '@osp/backstage-client';
import type { MessageInitShape } from '@bufbuild/protobuf';

/** The GetResourceStatus arguments, as the client accepts them. */
export type ResourceTarget = MessageInitShape<typeof GetResourceStatusRequestSchema>;

/**
 * Which object a Resource entity stands for, from the annotations the osp
 * catalog provider writes (docs/catalog.md). Any other entity is not ours:
 * NotFound, so the card says "no live status" rather than "bad request".
 */
export function resourceTargetOf(entity: Entity, ref: string): ResourceTarget {
  const a = entity.metadata.annotations ?? {};
  const cluster = a['osp.dev/cluster'];
  const apiVersion = a['osp.dev/api-version'];
  const kind = a['osp.dev/kind'];
  const name = a['osp.dev/name'];
  if (entity.kind.toLowerCase() !== 'resource' || !cluster || !apiVersion || !kind || !name) {
    throw new NotFoundError(`${ref} is not a Resource of the osp catalog provider`);
  }
  return { cluster, apiVersion, kind, name, namespace: a['osp.dev/namespace'] ?? '' };
}
