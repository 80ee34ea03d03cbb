import { createElement as h, useState, type ReactNode } from 'react';
import Typography from '@material-ui/core/Typography';
import type { OspResourceNodeJson } from '@osp/plugin-osp-common';
import { conditionOf, countNodes, messageOf } from './conditions';
import { StateChip } from './StateChip';

/**
 * The claim or XR and what it composed, as an indented, collapsible list.
 * Plain DOM, a row per node; below the first level nodes start collapsed
 * when the tree is large, so a few hundred composed objects stay readable.
 */
export function ResourceTree(props: { root: OspResourceNodeJson }) {
  const total = countNodes(props.root);
  const [generation, setGeneration] = useState(0);
  const [expandAll, setExpandAll] = useState<boolean | undefined>(undefined);
  const toggleAll = (open: boolean) => {
    setExpandAll(open);
    // Remounts the rows so each takes the new default.
    setGeneration(g => g + 1);
  };
  return h(
    'div',
    { 'data-testid': 'osp-resource-tree' },
    h(
      'div',
      { style: { display: 'flex', gap: 8, alignItems: 'center' } },
      h(Typography, { variant: 'body2' }, `${total} object${total === 1 ? '' : 's'}`),
      h('button', { type: 'button', style: toolButton, onClick: () => toggleAll(true) }, 'Expand all'),
      h('button', { type: 'button', style: toolButton, onClick: () => toggleAll(false) }, 'Collapse all'),
    ),
    h(
      'ul',
      { role: 'tree', style: { listStyle: 'none', paddingLeft: 0, margin: 0 } },
      h(TreeNode, {
        key: generation,
        node: props.root,
        depth: 0,
        open: expandAll ?? true,
        defaultOpen: d => expandAll ?? (d < 1 || total <= 50),
      }),
    ),
  );
}

// Plain buttons: MUI v4's ButtonBase is heavy for hundreds of rows.
const toolButton = { background: 'none', border: 'none', cursor: 'pointer', color: 'inherit', padding: '2px 6px' };

function TreeNode(props: {
  node: OspResourceNodeJson;
  depth: number;
  open: boolean;
  defaultOpen: (depth: number) => boolean;
}): ReactNode {
  const { node, depth } = props;
  const [open, setOpen] = useState(props.open);
  const ready = conditionOf(node, 'Ready');
  const synced = conditionOf(node, 'Synced');
  const message = messageOf(node);
  const label = `${node.kind} ${node.namespace ? `${node.namespace}/` : ''}${node.name}`;
  return h(
    'li',
    { role: 'treeitem', 'aria-expanded': node.children.length ? open : undefined, 'aria-label': label },
    h(
      'div',
      { style: { display: 'flex', gap: 8, alignItems: 'center', paddingLeft: depth * 20, minHeight: 32 } },
      node.children.length
        ? h(
            'button',
            { type: 'button', style: { ...toolButton, width: 30 }, 'aria-label': `${open ? 'Collapse' : 'Expand'} ${label}`, onClick: () => setOpen(!open) },
            open ? '▾' : '▸',
          )
        : h('span', { style: { display: 'inline-block', width: 30 } }),
      h(StateChip, { state: node.state }),
      h('span', null, h('b', null, node.kind), ` ${node.name}`),
      h('span', { style: { fontSize: '0.75rem', opacity: 0.7 } }, `Ready: ${ready?.status ?? '–'} · Synced: ${synced?.status ?? '–'}`),
      message ? h('span', { style: { fontSize: '0.75rem' } }, message) : null,
    ),
    open && node.children.length
      ? h(
          'ul',
          { role: 'group', style: { listStyle: 'none', paddingLeft: 0, margin: 0 } },
          ...node.children.map((child, i) =>
            h(TreeNode, {
              key: `${child.apiVersion}/${child.kind}/${child.namespace}/${child.name}/${i}`,
              node: child,
              depth: depth + 1,
              open: props.defaultOpen(depth + 1),
              defaultOpen: props.defaultOpen,
            }),
          ),
        )
      : null,
  );
}
