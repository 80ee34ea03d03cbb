import type { Entity } from '@backstage/catalog-model';

/**
 * True for the Resource entities the osp catalog provider emits (the card's
 * filter; kept apart so the plugin does not load the card eagerly).
 *
 * @public
 */
export function isOspResource(entity: Entity): boolean {
  return entity.kind.toLowerCase() === 'resource' && !!entity.metadata.annotations?.['osp.dev/kind'];
}
