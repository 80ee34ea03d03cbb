import { createElement as h, useState } from 'react';
import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogContentText from '@material-ui/core/DialogContentText';
import DialogTitle from '@material-ui/core/DialogTitle';
import Link from '@material-ui/core/Link';
import Typography from '@material-ui/core/Typography';
import type { Entity } from '@backstage/catalog-model';
import type { OspResourceDeleteResponse, OspResourceStatusJson } from '@osp/plugin-osp-common';
import type { OspApi } from '../api/OspApi';

type State =
  | { kind: 'idle' }
  | { kind: 'confirm' }
  | { kind: 'sending' }
  | { kind: 'done'; result: OspResourceDeleteResponse }
  | { kind: 'failed'; message: string };

/**
 * Delete, for a claim published through osp (its Resource records the
 * repository): after confirmation, the backend opens a pull request that
 * removes the manifest; once merged, Flux or Argo CD prune the claim. The
 * backend decides who may (`osp.resource.delete`, on this entity): `allowed`
 * is its answer from the status; the button waits for it, and a user who may
 * not delete sees why instead.
 */
export function DeleteClaim(props: {
  entity: Entity;
  entityRef: string;
  api: OspApi;
  allowed?: boolean;
  /** How Delete works for it, as the backend's status says. */
  deleteBy: OspResourceStatusJson['deleteBy'];
}) {
  const { entity, entityRef, api, allowed, deleteBy } = props;
  const [state, setState] = useState<State>({ kind: 'idle' });
  if (deleteBy === 'none') return null;
  const a = entity.metadata.annotations ?? {};
  const path = a['osp.dev/repo-path'];
  const direct = deleteBy === 'cluster';
  const confirm = async () => {
    setState({ kind: 'sending' });
    try {
      setState({ kind: 'done', result: await api.deleteResource(entityRef) });
    } catch (e) {
      setState({ kind: 'failed', message: (e as Error).message });
    }
  };
  const name = entity.metadata.title ?? entity.metadata.name;
  return h(
    'div',
    { 'data-testid': 'osp-delete' },
    h(
      Button,
      {
        variant: 'outlined',
        color: 'secondary',
        size: 'small',
        disabled: allowed !== true || state.kind === 'sending' || state.kind === 'done',
        onClick: () => setState({ kind: 'confirm' }),
      },
      'Delete…',
    ),
    allowed === false
      ? h(
          Typography,
          { variant: 'caption', display: 'block', color: 'textSecondary' },
          'You may not delete this Resource (permission osp.resource.delete).',
        )
      : null,
    h(
      Dialog,
      { open: state.kind === 'confirm', onClose: () => setState({ kind: 'idle' }), 'aria-labelledby': 'osp-delete-title' },
      h(DialogTitle, { id: 'osp-delete-title' }, `Delete ${name}?`),
      h(
        DialogContent,
        null,
        h(
          DialogContentText,
          null,
          direct
            ? `This deletes ${a['osp.dev/kind'] ?? 'the object'} ${a['osp.dev/name'] ?? name} from cluster ${a['osp.dev/cluster'] ?? ''} now; Crossplane then deletes what it composed.`
            : `This opens a pull request that removes ${path} from ${a['osp.dev/repo-url']}. Once it is merged, the claim and what it composed are deleted.`,
        ),
      ),
      h(
        DialogActions,
        null,
        h(Button, { onClick: () => setState({ kind: 'idle' }) }, 'Cancel'),
        h(Button, { color: 'secondary', variant: 'contained', onClick: confirm }, direct ? 'Delete now' : 'Open pull request'),
      ),
    ),
    state.kind === 'done'
      ? h(
          Typography,
          { variant: 'body2', role: 'status' },
          state.result.url
            ? h(Link, { href: state.result.url, target: '_blank', rel: 'noopener' }, 'Deletion pull request')
            : state.result.changeKind === 'local-branch'
              ? `Deletion committed on branch ${state.result.branch}`
              : state.result.changeKind === 'deleted'
                ? `Deleted from cluster ${state.result.cluster}`
                : direct
                  ? 'Nothing to delete: the object is already gone.'
                  : 'Nothing to delete: the repository no longer holds the manifest.',
        )
      : null,
    state.kind === 'failed'
      ? h(Typography, { variant: 'body2', color: 'error', role: 'alert' }, `Could not delete: ${state.message}`)
      : null,
  );
}
