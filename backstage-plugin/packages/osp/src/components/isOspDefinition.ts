import type { Entity } from '@backstage/catalog-model';

/**
 * True for the Template and API entities the osp catalog provider emits for
 * a definition (the definition card's filter).
 *
 * @public
 */
export function isOspDefinition(entity: Entity): boolean {
  const kind = entity.kind.toLowerCase();
  return (kind === 'template' || kind === 'api') && !!entity.metadata.annotations?.['osp.dev/definition'];
}
