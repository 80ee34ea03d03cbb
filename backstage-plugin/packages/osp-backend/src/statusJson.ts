import {
  ResourceState,
  type GetResourceStatusResponse,
  type ResourceNode,
} from '@osp/backstage-client';
import type { JsonObject } from '@backstage/types';
import type { OspResourceNodeJson, OspResourceStatusJson } from '@osp/plugin-osp-common';

/** The sidecar's answer as plain JSON (no computation: a change of shape only). */
export function statusJsonOf(
  entityRef: string,
  res: GetResourceStatusResponse,
  allowed: OspResourceStatusJson['allowed'],
  published: boolean,
): OspResourceStatusJson {
  return {
    entityRef,
    root: res.root ? nodeJsonOf(res.root) : null,
    message: res.message,
    status: (res.status ?? {}) as JsonObject,
    yaml: res.yaml,
    allowed,
    deleteBy: published ? 'pull-request' : res.directDelete ? 'cluster' : 'none',
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
