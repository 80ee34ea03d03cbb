/**
 * Catalog entity provider for the Templates, APIs and Resources of the
 * Open Service Portal sidecar.
 *
 * @packageDocumentation
 */
export { catalogModuleOsp as default, DEFAULT_SCHEDULE } from './module';
export { OspEntityProvider, type OspWatchOptions } from './provider';
