/**
 * Scaffolder actions that render, publish and apply claims through the
 * Open Service Portal sidecar.
 *
 * @packageDocumentation
 */
export { scaffolderModuleOsp as default } from './module';
export { createRenderClaimAction } from './actions/render';
export {
  changeOf,
  createPublishClaimAction,
  repositoryOf,
  type ChangeKindOutput,
} from './actions/publish';
export { createApplyClaimAction } from './actions/apply';
export { createDeleteClaimAction, deleteKeyOf } from './actions/delete';
