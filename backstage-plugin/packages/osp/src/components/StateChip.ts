import { createElement as h } from 'react';
import Chip from '@material-ui/core/Chip';
import type { OspResourceNodeJson } from '@osp/plugin-osp-common';

const colors: Record<OspResourceNodeJson['state'], string> = {
  ready: '#2e7d32',
  provisioning: '#1565c0',
  pending: '#6d6d6d',
  deleting: '#ef6c00',
  error: '#c62828',
  unknown: '#6d6d6d',
};

/** The sidecar's summary state of an object, as a coloured chip. */
export function StateChip(props: { state: OspResourceNodeJson['state'] }) {
  return h(Chip, {
    size: 'small',
    label: props.state,
    // Found by tests and the app e2e test as "the state".
    className: 'osp-state',
    style: { backgroundColor: colors[props.state] ?? colors.unknown, color: '#fff' },
  });
}
