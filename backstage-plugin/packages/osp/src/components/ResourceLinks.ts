import { createElement as h } from 'react';
import Link from '@material-ui/core/Link';
import type { Entity } from '@backstage/catalog-model';

/** A link or a plain fact (a GitOps object, which has no URL here). */
interface Item {
  title: string;
  href?: string;
  text?: string;
}

/**
 * Where to go from here, from what the catalog provider wrote on the
 * entity: the day-2 edit form (`osp.dev/edit-url`, an in-app path), the
 * entity's links (status URLs), what applied it (Argo CD, Flux) and the
 * connection secret's name.
 */
export function linksOf(entity: Entity): Item[] {
  const a = entity.metadata.annotations ?? {};
  const items: Item[] = [];
  const edit = a['osp.dev/edit-url'];
  if (edit) items.push({ title: 'Edit', href: edit });
  for (const l of entity.metadata.links ?? []) {
    // The provider lists the edit link again as an absolute URL.
    if (edit && l.url.endsWith(edit)) continue;
    items.push({ title: l.title ?? l.url, href: l.url });
  }
  if (a['argocd/app-name']) items.push({ title: 'Argo CD application', text: a['argocd/app-name'] });
  if (a['osp.dev/flux-kustomization']) {
    items.push({ title: 'Flux Kustomization', text: a['osp.dev/flux-kustomization'] });
  }
  // Named only: osp never reads a secret's values.
  if (a['osp.dev/connection-secret']) {
    items.push({ title: 'Connection secret', text: a['osp.dev/connection-secret'] });
  }
  return items;
}

/** The links of {@link linksOf}, one per line. */
export function ResourceLinks(props: { entity: Entity }) {
  const items = linksOf(props.entity);
  if (items.length === 0) return null;
  return h(
    'ul',
    { 'aria-label': 'Links', style: { margin: 0, paddingLeft: 20 } },
    ...items.map(item =>
      h(
        'li',
        { key: `${item.title}:${item.href ?? item.text}` },
        item.href
          ? h(Link, { href: item.href }, item.title)
          : h('span', null, `${item.title}: ${item.text}`),
      ),
    ),
  );
}
