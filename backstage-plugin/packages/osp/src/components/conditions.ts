import type { OspConditionJson, OspResourceNodeJson } from '@osp/plugin-osp-common';

/** The condition of a type, if the object reports it. */
export function conditionOf(node: OspResourceNodeJson, type: string): OspConditionJson | undefined {
  return node.conditions.find(c => c.type === type);
}

/**
 * The message to show next to a node: the first condition that is not
 * True and says something, else Ready's. Display only: the state itself is
 * the sidecar's.
 */
export function messageOf(node: OspResourceNodeJson): string {
  const failing = node.conditions.find(c => c.status !== 'True' && c.message);
  return failing?.message ?? conditionOf(node, 'Ready')?.message ?? '';
}

/** Number of nodes in a tree. */
export function countNodes(node: OspResourceNodeJson): number {
  return 1 + node.children.reduce((n, c) => n + countNodes(c), 0);
}
