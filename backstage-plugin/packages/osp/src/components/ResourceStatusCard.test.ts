/** @jest-environment jsdom */
// Without JSX: the workspace's jest transform parses TypeScript only.
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { createElement as h } from 'react';
import type { OspResourceNodeJson } from '@osp/plugin-osp-common';
import type { OspApi } from '../api/OspApi';
import { node, resourceEntity, status } from '../testing';
import { OspResourceStatusCard, OspResourceStatusView } from './ResourceStatusCard';
import { isOspResource } from './isOspResource';

const api: jest.Mocked<OspApi> = { getResourceStatus: jest.fn(), getDefinition: jest.fn(), previewClaim: jest.fn(), deleteResource: jest.fn() };
jest.mock('../api/useOspApi', () => ({ useOspApi: () => api }));
// plugin-catalog-react ships ESM only, which this jest setup does not load.
jest.mock('@backstage/plugin-catalog-react', () => ({ useEntity: () => ({ entity: resourceEntity }) }));

afterEach(() => {
  cleanup();
  jest.useRealTimers();
  api.getResourceStatus.mockReset();
});

describe('OspResourceStatusView', () => {
  it('shows the state with its deciding message and every condition', () => {
    render(h(OspResourceStatusView, { entity: resourceEntity, status }));
    const card = document.getElementById('osp-resource-status-card')!;
    expect(card.querySelector('.osp-state')!.textContent).toBe('provisioning');
    expect(screen.getByTestId('osp-status-message').textContent).toBe('Waiting for the database to become available');
    const table = screen.getByRole('table', { name: 'Conditions' });
    const rows = within(table).getAllByRole('row').map(r => r.textContent);
    expect(rows).toEqual([
      'TypeStatusReasonMessageLast transition',
      'SyncedTrueReconcileSuccess2026-12-03T10:00:00Z',
      'ReadyFalseCreatingorders-db is not ready2026-12-03T10:00:01Z',
    ]);
  });

  it('shows the live object as YAML, folded until opened', () => {
    render(h(OspResourceStatusView, { entity: resourceEntity, status }));
    const yaml = screen.getByLabelText('Live object YAML');
    expect(yaml.textContent).toBe(status.yaml);
    expect(yaml.closest('details')!.open).toBe(false);
    fireEvent.click(screen.getByText('YAML'));
    expect(yaml.closest('details')!.open).toBe(true);
  });

  it('shows the composed tree with Ready, Synced and the message of each node', () => {
    render(h(OspResourceStatusView, { entity: resourceEntity, status }));
    const items = screen.getAllByRole('treeitem');
    expect(items.map(i => i.getAttribute('aria-label'))).toEqual([
      'PostgreSQLInstance team-a/orders-db',
      'Object orders-db-xr',
      'Object orders-db-rds',
    ]);
    expect(items[2].textContent).toMatch(/readyObject orders-db-rdsReady: True · Synced: True/);
    expect(items[1].textContent).toMatch(/orders-db-xr is not ready/);
    fireEvent.click(screen.getByRole('button', { name: 'Collapse Object orders-db-xr' }));
    expect(screen.getAllByRole('treeitem')).toHaveLength(2);
  });

  it('renders a tree of over 200 nodes, collapsed below the first level until expanded', () => {
    const leaves: OspResourceNodeJson[] = [];
    for (let i = 0; i < 20; i++) {
      leaves.push(node(`xr-${i}`, 'ready', Array.from({ length: 10 }, (_, j) => node(`mr-${i}-${j}`, j % 2 ? 'ready' : 'error'))));
    }
    const big = { ...status, root: node('root', 'error', leaves) };
    render(h(OspResourceStatusView, { entity: resourceEntity, status: big }));
    expect(screen.getByText('221 objects')).toBeTruthy();
    expect(screen.getAllByRole('treeitem')).toHaveLength(21);
    fireEvent.click(screen.getByText('Expand all'));
    expect(screen.getAllByRole('treeitem')).toHaveLength(221);
    fireEvent.click(screen.getByText('Collapse all'));
    expect(screen.getAllByRole('treeitem')).toHaveLength(1);
  });

  it('links to the edit form, the status URLs and names the GitOps objects and the connection secret', () => {
    render(h(OspResourceStatusView, { entity: resourceEntity, status }));
    const links = within(screen.getByRole('list', { name: 'Links' }));
    expect(links.getByText('Edit').getAttribute('href')).toBe('/create/templates/default/postgresqlinstance?formData=%7B%7D');
    expect(links.getByText('consoleUrl').getAttribute('href')).toBe('https://console.example.com/db/orders');
    expect(links.getAllByRole('link')).toHaveLength(2);
    expect(links.getByText('Argo CD application: claims-prod')).toBeTruthy();
    expect(links.getByText('Flux Kustomization: flux-system/claims')).toBeTruthy();
    expect(links.getByText('Connection secret: team-a/orders-db-conn')).toBeTruthy();
  });

  it('keeps the last status on screen next to an error', () => {
    render(h(OspResourceStatusView, { entity: resourceEntity, status, error: new Error('sidecar down') }));
    expect(screen.getByRole('alert').textContent).toBe('Could not read the status: sidecar down');
    expect(screen.getByTestId('osp-status-message')).toBeTruthy();
  });
});

describe('OspResourceStatusCard', () => {
  it('asks for the entity and refreshes by itself', async () => {
    jest.useFakeTimers();
    api.getResourceStatus.mockResolvedValueOnce(status).mockResolvedValueOnce({
      ...status,
      message: 'Available',
      root: { ...status.root!, state: 'ready' },
    });
    render(h(OspResourceStatusCard, { refreshIntervalMs: 3000 }));
    expect(screen.getByText('Loading…')).toBeTruthy();
    await act(async () => {});
    expect(api.getResourceStatus).toHaveBeenCalledWith('resource:default/orders-db.postgresqlinstance.team-a.prod', expect.anything());
    expect(screen.getByTestId('osp-status-message').textContent).toBe('Waiting for the database to become available');
    await act(async () => {
      jest.advanceTimersByTime(3000);
    });
    expect(api.getResourceStatus).toHaveBeenCalledTimes(2);
    expect(screen.getByTestId('osp-status-message').textContent).toBe('Available');
    expect(document.querySelector('#osp-resource-status-card .osp-state')!.textContent).toBe('ready');
  });
});

describe('OspResourceStatusCard in a background tab', () => {
  afterEach(() => {
    delete (document as { hidden?: boolean }).hidden;
  });

  it('skips refreshes while the page is hidden and resumes when shown', async () => {
    jest.useFakeTimers();
    api.getResourceStatus.mockResolvedValue(status);
    render(h(OspResourceStatusCard, { refreshIntervalMs: 1000 }));
    await act(async () => {});
    expect(api.getResourceStatus).toHaveBeenCalledTimes(1);
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
    await act(async () => {
      jest.advanceTimersByTime(3000);
    });
    expect(api.getResourceStatus).toHaveBeenCalledTimes(1);
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => false });
    await act(async () => {
      jest.advanceTimersByTime(1000);
    });
    expect(api.getResourceStatus).toHaveBeenCalledTimes(2);
  });
});

describe('isOspResource', () => {
  it('matches Resource entities with osp annotations only', () => {
    expect(isOspResource(resourceEntity)).toBe(true);
    expect(isOspResource({ ...resourceEntity, kind: 'Component' })).toBe(false);
    expect(isOspResource({ ...resourceEntity, metadata: { name: 'x' } })).toBe(false);
  });
});
