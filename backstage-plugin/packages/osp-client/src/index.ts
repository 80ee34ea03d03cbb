/**
 * Client for the Open Service Portal sidecar, generated from its gRPC
 * contract, with Backstage error mapping and a service ref.
 *
 * @packageDocumentation
 */
export { createOspClient, ospClientOver, type OspClient } from './client';
export { ospClientServiceRef } from './serviceRef';
export { fieldViolationsOf, toBackstageError, type FieldViolation } from './errors';
export { readOspClientOptions, type OspClientOptions } from './options';
export { deleteKeyOf, repositoryOf } from './repository';
export * from './gen/osp/v1/common_pb';
export * from './gen/osp/v1/catalog_pb';
export * from './gen/osp/v1/claims_pb';
export * from './gen/osp/v1/publish_pb';
export * from './gen/osp/v1/templates_pb';
export { BadRequestSchema } from './gen/google/rpc/error_details_pb';
