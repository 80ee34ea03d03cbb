import { createElement as h, useEffect, useState } from 'react';
import Card from '@material-ui/core/Card';
import CardContent from '@material-ui/core/CardContent';
import CardHeader from '@material-ui/core/CardHeader';
import Typography from '@material-ui/core/Typography';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { useEntity } from '@backstage/plugin-catalog-react';
import type { OspDefinitionJson } from '@osp/plugin-osp-common';
import { useOspApi } from '../api/useOspApi';

/**
 * Where the service behind a Template or API entity is offered: the
 * clusters that serve its definition, the Compositions in each, and its
 * versions (the one the Template creates first).
 *
 * @public
 */
export function OspDefinitionCard() {
  const { entity } = useEntity();
  const api = useOspApi();
  const entityRef = stringifyEntityRef(entity);
  const [state, setState] = useState<{ value?: OspDefinitionJson; error?: Error }>({});
  useEffect(() => {
    const controller = new AbortController();
    api.getDefinition(entityRef, { signal: controller.signal }).then(
      value => setState({ value }),
      error => controller.signal.aborted || setState({ error }),
    );
    return () => controller.abort();
  }, [api, entityRef]);
  return h(OspDefinitionView, { definition: state.value, error: state.error });
}

/** The card's content for given data (no fetching). @public */
export function OspDefinitionView(props: { definition?: OspDefinitionJson; error?: Error }) {
  const { definition: d, error } = props;
  return h(
    Card,
    { id: 'osp-definition-card' },
    h(CardHeader, { title: 'Offered by', subheader: d ? `${d.targetKind} (${d.group})` : undefined }),
    h(
      CardContent,
      null,
      error ? h(Typography, { role: 'alert', color: 'error', variant: 'body2' }, `Could not read the definition: ${error.message}`) : null,
      !d && !error ? h(Typography, { variant: 'body2' }, 'Loading…') : null,
      d ? h(DefinitionFacts, { d }) : null,
    ),
  );
}

function DefinitionFacts(props: { d: OspDefinitionJson }) {
  const { d } = props;
  const versions = d.versions.map(v => (v === d.version ? `${v} (offered)` : v)).join(', ');
  return h(
    'div',
    null,
    h(Typography, { variant: 'body2', gutterBottom: true }, `Definition ${d.definition} (${d.kind})`),
    h('div', { 'data-testid': 'osp-versions' }, h(Typography, { variant: 'body2', gutterBottom: true }, `Versions: ${versions || '–'}`)),
    d.clusters.length === 0
      ? h(Typography, { variant: 'body2' }, 'No cluster serves it at the moment.')
      : h(
          'ul',
          { 'aria-label': 'Clusters', style: { margin: 0, paddingLeft: 20 } },
          ...d.clusters.map(c =>
            h(
              'li',
              { key: c.name },
              h('strong', null, c.name),
              c.compositions.length ? ` — Compositions: ${c.compositions.join(', ')}` : ' — no Composition known',
            ),
          ),
        ),
  );
}
