import { createElement as h, useCallback } from 'react';
import Card from '@material-ui/core/Card';
import CardContent from '@material-ui/core/CardContent';
import CardHeader from '@material-ui/core/CardHeader';
import Typography from '@material-ui/core/Typography';
import { stringifyEntityRef, type Entity } from '@backstage/catalog-model';
import { useEntity } from '@backstage/plugin-catalog-react';
import type { OspResourceStatusJson } from '@osp/plugin-osp-common';
import { useOspApi } from '../api/useOspApi';
import { ConditionsTable } from './ConditionsTable';
import { DeleteClaim } from './DeleteClaim';
import { ResourceLinks } from './ResourceLinks';
import { ResourceTree } from './ResourceTree';
import { StateChip } from './StateChip';
import { usePolling } from './usePolling';

/** Props of {@link OspResourceStatusCard}. @public */
export interface OspResourceStatusCardProps {
  /** How often to ask for the status again, in milliseconds (default 5000; 0 stops). */
  refreshIntervalMs?: number;
}

/**
 * The live status of the claim or XR behind a Resource entity: its state
 * and the message that decides it, every condition, the composed tree and
 * the links. Refreshes by itself.
 *
 * @public
 */
export function OspResourceStatusCard(props: OspResourceStatusCardProps) {
  const { entity } = useEntity();
  const api = useOspApi();
  const entityRef = stringifyEntityRef(entity);
  const load = useCallback(
    (signal: AbortSignal) => api.getResourceStatus(entityRef, { signal }),
    [api, entityRef],
  );
  const { value, error, loading } = usePolling(entityRef, load, props.refreshIntervalMs ?? 5000);
  return h(OspResourceStatusView, {
    entity,
    status: value,
    error,
    loading,
    // Delete as the backend says: by pull request for claims published
    // through osp, from the cluster when direct apply admits it, else not.
    actions:
      value && value.deleteBy !== 'none'
        ? h(DeleteClaim, { entity, entityRef, api, allowed: value.allowed.delete, deleteBy: value.deleteBy })
        : undefined,
  });
}

/** The card's content for given data (no fetching). @public */
export function OspResourceStatusView(props: {
  entity: Entity;
  status?: OspResourceStatusJson;
  error?: Error;
  loading?: boolean;
  /** Day-2 actions shown under the links (Delete). */
  actions?: unknown;
}) {
  const { entity, status, error, loading } = props;
  const root = status?.root ?? undefined;
  return h(
    Card,
    { id: 'osp-resource-status-card' },
    h(CardHeader, { title: 'Live status', subheader: entity.metadata.annotations?.['osp.dev/kind'] }),
    h(
      CardContent,
      null,
      error
        ? h(
            Typography,
            { role: 'alert', color: 'error', variant: 'body2', gutterBottom: true },
            `Could not read the status: ${error.message}`,
          )
        : null,
      loading && !status ? h(Typography, { variant: 'body2' }, 'Loading…') : null,
      status
        ? h(
            'div',
            null,
            h(
              'div',
              { style: { display: 'flex', gap: 8, alignItems: 'center', marginBottom: 8 } },
              h(StateChip, { state: root?.state ?? 'unknown' }),
              h('span', { 'data-testid': 'osp-status-message' }, status.message),
            ),
            root ? h(Section, { title: 'Conditions' }, h(ConditionsTable, { conditions: root.conditions })) : null,
            root ? h(Section, { title: 'Composed resources' }, h(ResourceTree, { root })) : null,
            status.yaml ? h(Section, { title: 'Live object' }, h(ObjectYaml, { yaml: status.yaml })) : null,
          )
        : null,
      h(Section, { title: 'Links' }, h(ResourceLinks, { entity })),
      props.actions ? h(Section, { title: 'Actions', children: props.actions }) : null,
    ),
  );
}

/** The claim or XR as watched (no managedFields), folded by default. */
function ObjectYaml(props: { yaml: string }) {
  return h(
    'details',
    null,
    h('summary', { style: { cursor: 'pointer' } }, 'YAML'),
    h(
      'pre',
      {
        'aria-label': 'Live object YAML',
        style: { maxHeight: 400, overflow: 'auto', fontSize: '0.75rem', margin: '4px 0 0' },
      },
      props.yaml,
    ),
  );
}

function Section(props: { title: string; children?: unknown }) {
  return h(
    'section',
    { style: { marginTop: 16 } },
    h('h3', { style: { margin: '0 0 4px', fontSize: '0.875rem' } }, props.title),
    props.children as never,
  );
}
