/**
 * The Open Service Portal's day-2 views in Backstage: the live status card
 * of a Resource entity and the `OspClaimPreview` scaffolder field.
 *
 * New frontend system: the default export, the `osp` plugin. Legacy
 * frontend system: {@link OspResourceStatusCard} on the Resource entity
 * page, {@link OspDefinitionCard} on Template and API pages, and {@link ospClaimPreviewFieldOptions} for the scaffolder.
 *
 * @packageDocumentation
 */
import { ospPlugin } from './plugin';

export default ospPlugin;
export {
  ospApi,
  ospClaimPreviewFormField,
  ospDefinitionEntityCard,
  ospPlugin,
  ospResourceStatusEntityCard,
} from './plugin';
export { ospApiRef, type OspApi } from './api/OspApi';
export { OspClient } from './api/OspClient';
export { isOspDefinition } from './components/isOspDefinition';
export { isOspResource } from './components/isOspResource';
export { OspDefinitionCard, OspDefinitionView } from './components/DefinitionCard';
export {
  OspResourceStatusCard,
  OspResourceStatusView,
  type OspResourceStatusCardProps,
} from './components/ResourceStatusCard';
export {
  OSP_CLAIM_PREVIEW_FIELD_NAME,
  OspClaimPreview,
  ospClaimPreviewFieldOptions,
  type OspClaimPreviewProps,
  type OspClaimPreviewUiOptions,
} from './components/OspClaimPreview';
