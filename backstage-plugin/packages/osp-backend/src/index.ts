/**
 * The Open Service Portal's `osp` backend plugin: the live status of a
 * Resource entity and the claim preview, through the osp sidecar.
 *
 * @packageDocumentation
 */
export { ospPlugin as default } from './plugin';
