import { createPermission } from '@backstage/plugin-permission-common';

// The catalog's resource type (`RESOURCE_TYPE_CATALOG_ENTITY`, exported only
// from plugin-catalog-common's alpha entry): policies may then answer with
// the catalog's conditions, e.g. `catalogConditions.isEntityOwner`.
const RESOURCE_TYPE_CATALOG_ENTITY = 'catalog-entity' as const;

/**
 * Read the live status of a Resource entity (its conditions and composed
 * resources, from the cluster). A resource permission on catalog entities,
 * so policies can use the catalog's rules (`isEntityOwner`, …).
 *
 * @public
 */
export const ospResourceReadPermission = createPermission({
  name: 'osp.resource.read',
  attributes: { action: 'read' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/**
 * Preview a claim: render and validate form values, nothing is written.
 *
 * @public
 */
export const ospClaimPreviewPermission = createPermission({
  name: 'osp.claim.preview',
  attributes: { action: 'read' },
});

/**
 * Delete the claim behind a Resource entity: `POST /resources/delete`
 * proposes a pull request removing its manifest. A resource permission, so a
 * policy can say "only the owners may delete" (`isEntityOwner`).
 *
 * @public
 */
export const ospResourceDeletePermission = createPermission({
  name: 'osp.resource.delete',
  attributes: { action: 'delete' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/** Every permission of the osp plugin. @public */
export const ospPermissions = [
  ospResourceReadPermission,
  ospClaimPreviewPermission,
  ospResourceDeletePermission,
];
