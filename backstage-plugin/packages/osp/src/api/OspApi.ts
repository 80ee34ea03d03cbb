import { createApiRef } from '@backstage/frontend-plugin-api';
import type {
  OspClaimPreviewRequest,
  OspClaimPreviewResponse,
  OspDefinitionJson,
  OspResourceDeleteResponse,
  OspResourceStatusJson,
} from '@osp/plugin-osp-common';

/** The osp backend plugin's routes, as the frontend calls them. @public */
export interface OspApi {
  /** `GET /api/osp/resources/status`: the live status of a Resource entity. */
  getResourceStatus(entityRef: string, options?: { signal?: AbortSignal }): Promise<OspResourceStatusJson>;
  /** `POST /api/osp/claims/preview`: the manifest, or every violation. */
  previewClaim(request: OspClaimPreviewRequest, options?: { signal?: AbortSignal }): Promise<OspClaimPreviewResponse>;
  /** `GET /api/osp/definitions/summary`: where the definition of a Template or API entity is offered. */
  getDefinition(entityRef: string, options?: { signal?: AbortSignal }): Promise<OspDefinitionJson>;
  /** `POST /api/osp/resources/delete`: a pull request removing the claim of a Resource entity. */
  deleteResource(entityRef: string): Promise<OspResourceDeleteResponse>;
}

/**
 * The {@link OspApi}. The object form of `createApiRef` is used on purpose:
 * it exists in every frontend-plugin-api version this package supports.
 *
 * @public
 */
export const ospApiRef = createApiRef<OspApi>({ id: 'plugin.osp.api' });
