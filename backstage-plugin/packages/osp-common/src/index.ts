/**
 * Permissions of the Open Service Portal's `osp` plugin, for its backend,
 * its frontend and permission policies.
 *
 * @packageDocumentation
 */
export {
  ospClaimPreviewPermission,
  ospPermissions,
  ospResourceDeletePermission,
  ospResourceReadPermission,
} from './permissions';
export type {
  OspClaimPreviewRequest,
  OspClaimPreviewResponse,
  OspConditionJson,
  OspDefinitionClusterJson,
  OspDefinitionJson,
  OspFieldViolation,
  OspResourceDeleteRequest,
  OspResourceDeleteResponse,
  OspResourceNodeJson,
  OspResourceStatusJson,
} from './api';
