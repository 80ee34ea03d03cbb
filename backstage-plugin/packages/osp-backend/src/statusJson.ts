import {
  ResourceState,
  type GetResourceStatusResponse,
  type ResourceNode,
} from '@osp/backstage-client';
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
}

/** The sidecar's answer as plain JSON (no computation: a change of shape only). */
export function statusJsonOf(entityRef: string, res: GetResourceStatusResponse): OspResourceStatusJson {
  return {
    entityRef,
    root: res.root ? nodeJsonOf(res.root) : null,
    message: res.message,
    status: (res.status ?? {}) as JsonObject,
  };
}

function nodeJsonOf(node: ResourceNode): OspResourceNodeJson {
  return {
    apiVersion: node.apiVersion,
    kind: node.kind,
    namespace: node.namespace,
    name: node.name,
    state: stateName(node.state),
    conditions: node.conditions.map(c => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      lastTransitionTime: c.lastTransitionTime,
    })),
    children: node.children.map(nodeJsonOf),
  };
}

function stateName(state: ResourceState): OspResourceNodeJson['state'] {
  switch (state) {
    case ResourceState.PENDING:
      return 'pending';
    case ResourceState.PROVISIONING:
      return 'provisioning';
    case ResourceState.READY:
      return 'ready';
    case ResourceState.ERROR:
      return 'error';
    case ResourceState.DELETING:
      return 'deleting';
    default:
      return 'unknown';
  }
}
