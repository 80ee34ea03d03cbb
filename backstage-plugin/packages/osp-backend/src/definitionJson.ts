import { DefinitionKind, type DefinitionSummary } from '@osp/backstage-client';
import type { OspDefinitionJson } from '@osp/plugin-osp-common';

const KINDS: Record<number, string> = {
  [DefinitionKind.XRD]: 'xrd',
  [DefinitionKind.RGD]: 'rgd',
  [DefinitionKind.PROMISE]: 'promise',
};

/**
 * The sidecar's summaries of `definition` (one per cluster) as one answer:
 * a change of shape only. The first summary (the sidecar's lookup order)
 * gives the kind, group and version; versions are merged in order.
 */
export function definitionJsonOf(
  entityRef: string,
  definition: string,
  summaries: DefinitionSummary[],
): OspDefinitionJson {
  const mine = summaries.filter(s => s.name === definition);
  const first = mine[0];
  return {
    entityRef,
    definition,
    kind: first ? KINDS[first.kind] ?? 'unknown' : 'unknown',
    group: first?.group ?? '',
    targetKind: first?.targetKind ?? '',
    version: first?.version ?? '',
    versions: [...new Set(mine.flatMap(s => s.versions))],
    clusters: mine.flatMap(s => s.clusters.map(name => ({ name, compositions: [...s.compositions] }))),
  };
}
