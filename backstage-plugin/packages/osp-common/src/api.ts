// The JSON the osp backend plugin's routes speak, shared with the frontend.
import type { JsonObject } from '@backstage/types';

/** One condition of an object, as Kubernetes reports it. @public */
export interface OspConditionJson {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
}

/**
 * A node of the composed tree; `state` is the summary the sidecar computed,
 * spelled like the entity's `osp.dev/state` annotation. @public
 */
export interface OspResourceNodeJson {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  state: 'unknown' | 'pending' | 'provisioning' | 'ready' | 'error' | 'deleting';
  conditions: OspConditionJson[];
  children: OspResourceNodeJson[];
}

/** The body of `GET /resources/status`. @public */
export interface OspResourceStatusJson {
  entityRef: string;
  root: OspResourceNodeJson | null;
  message: string;
  status: JsonObject;
  /** The claim or XR as watched, as YAML, without `metadata.managedFields`. */
  yaml: string;
  /**
   * What the caller may do with this Resource, as the permission policy
   * decided for this entity (conditions such as `isEntityOwner` applied).
   * The routes check again; this only shapes the page.
   */
  allowed: { delete: boolean };
  /**
   * How Delete works for it: by `pull-request` (it was published through
   * osp), from its `cluster` directly (direct apply admits it), or `none`.
   */
  deleteBy: 'pull-request' | 'cluster' | 'none';
}

/** One cluster that offers a definition. @public */
export interface OspDefinitionClusterJson {
  /** The cluster's name in the sidecar's config (`from-dir` for a directory). */
  name: string;
  /** The Compositions that compose it there (XRDs; empty when none is known). */
  compositions: string[];
}

/** The body of `GET /definitions/summary`: where a Template's or API's definition is offered. @public */
export interface OspDefinitionJson {
  entityRef: string;
  /** `metadata.name` of the XRD, RGD or Promise. */
  definition: string;
  /** `xrd`, `rgd` or `promise`. */
  kind: string;
  /** API group and kind users create. */
  group: string;
  targetKind: string;
  /** The version the Template creates. */
  version: string;
  /** Every served version, over all clusters, in order of first appearance. */
  versions: string[];
  clusters: OspDefinitionClusterJson[];
}

/** The body of `POST /claims/preview`. @public */
export interface OspClaimPreviewRequest {
  /** Name of the definition, e.g. `xpostgresqlinstances.database.example.org`. */
  definition: string;
  /** `metadata.name`; may be empty while the form is filled in (a violation then). */
  name: string;
  /** `metadata.namespace`, for namespaced kinds. */
  namespace?: string;
  /** The form's values for the claim's own fields. */
  values?: Record<string, unknown>;
  /** Entity ref of the owner; defaults to the caller. */
  owner?: string;
  /** Target cluster, as the template's cluster choice. */
  cluster?: string;
}

/** One invalid field of a previewed claim (schema or CEL rule). @public */
export interface OspFieldViolation {
  /** Path of the field, e.g. `spec.parameters.size`. */
  field: string;
  description: string;
}

/** The body of `POST /claims/preview`'s answer. @public */
export interface OspClaimPreviewResponse {
  /** The claim or XR as YAML; empty when there are violations. */
  manifest: string;
  violations: OspFieldViolation[];
  /** Non-fatal notes, e.g. a value coerced to an integer. */
  warnings: { path: string; message: string }[];
  idempotencyKey: string;
  /** Repository path the manifest would be published at. */
  path: string;
  /** The Resource entity the catalog will list the claim as. */
  entityRef: string;
}

/** The body of `POST /resources/delete`. @public */
export interface OspResourceDeleteRequest {
  /** The Resource entity whose claim to delete, e.g. `resource:default/orders-db.postgresqlinstance.team-a.prod`. */
  entityRef: string;
}

/** The answer of `POST /resources/delete`: the proposed change, or the deletion. @public */
export interface OspResourceDeleteResponse {
  /**
   * `pull-request`, `local-branch`, `deleted` (direct apply: deleted from its
   * cluster), or `none` (the file or the object is already gone).
   */
  changeKind: 'pull-request' | 'local-branch' | 'deleted' | 'none';
  /** Web URL of the pull (merge) request; empty for the other kinds. */
  url: string;
  /** Branch holding the deletion; empty for a direct delete. */
  branch: string;
  /** The cluster a direct delete went to; empty otherwise. */
  cluster?: string;
}
