import { createElement as h } from 'react';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import type { OspConditionJson } from '@osp/plugin-osp-common';

/** Every condition of the object, as Kubernetes reports it. */
export function ConditionsTable(props: { conditions: OspConditionJson[] }) {
  if (props.conditions.length === 0) {
    return h(Typography, { variant: 'body2', color: 'textSecondary' }, 'No conditions reported yet.');
  }
  const headers = ['Type', 'Status', 'Reason', 'Message', 'Last transition'];
  return h(
    Table,
    { size: 'small', 'aria-label': 'Conditions' },
    h(TableHead, null, h(TableRow, null, ...headers.map(t => h(TableCell, { key: t }, t)))),
    h(
      TableBody,
      null,
      ...props.conditions.map(c =>
        h(
          TableRow,
          { key: c.type },
          h(TableCell, null, c.type),
          h(TableCell, null, c.status),
          h(TableCell, null, c.reason),
          h(TableCell, { style: { whiteSpace: 'pre-wrap', wordBreak: 'break-word' } }, c.message),
          h(TableCell, { title: c.lastTransitionTime }, c.lastTransitionTime),
        ),
      ),
    ),
  );
}
