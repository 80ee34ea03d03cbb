/** @jest-environment jsdom */
// Without JSX: the workspace's jest transform parses TypeScript only.
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { createElement as h } from 'react';
import type { Entity } from '@backstage/catalog-model';
import type { OspApi } from '../api/OspApi';
import { resourceEntity } from '../testing';
import { DeleteClaim } from './DeleteClaim';

const api: jest.Mocked<OspApi> = { getResourceStatus: jest.fn(), getDefinition: jest.fn(), previewClaim: jest.fn(), deleteResource: jest.fn() };
const ref = 'resource:default/jobs.queue.team-a.prod';
const published: Entity = {
  ...resourceEntity,
  metadata: {
    ...resourceEntity.metadata,
    annotations: {
      ...resourceEntity.metadata.annotations,
      'osp.dev/repo-url': 'github.com?owner=acme&repo=gitops',
      'osp.dev/repo-path': 'clusters/prod/team-a/queue/jobs.yaml',
      'osp.dev/idempotency-key': 'claim/prod/team-a/queue/jobs',
    },
  },
};

afterEach(() => {
  cleanup();
  api.deleteResource.mockReset();
});

describe('DeleteClaim', () => {
  it('is not offered when the backend says the claim cannot be deleted from here', () => {
    render(h(DeleteClaim, { entity: resourceEntity, entityRef: ref, api, deleteBy: 'none' }));
    expect(screen.queryByText('Delete…')).toBeNull();
  });

  it('asks for confirmation, then links the pull request', async () => {
    api.deleteResource.mockResolvedValue({
      changeKind: 'pull-request',
      url: 'https://github.com/acme/gitops/pull/9',
      branch: 'osp/claim-prod-team-a-queue-jobs-delete-1',
    });
    render(h(DeleteClaim, { entity: published, entityRef: ref, api, allowed: true, deleteBy: 'pull-request' }));
    fireEvent.click(screen.getByText('Delete…'));
    expect(screen.getByRole('dialog').textContent).toMatch(/removes clusters\/prod\/team-a\/queue\/jobs\.yaml/);
    expect(api.deleteResource).not.toHaveBeenCalled();
    await act(async () => {
      fireEvent.click(screen.getByText('Open pull request'));
    });
    expect(api.deleteResource).toHaveBeenCalledWith(ref);
    const link = (await screen.findByText('Deletion pull request')) as HTMLAnchorElement;
    expect(link.getAttribute('href')).toBe('https://github.com/acme/gitops/pull/9');
  });

  it('waits for the policy, and tells a user who may not delete why the button is off', () => {
    const { rerender } = render(h(DeleteClaim, { entity: published, entityRef: ref, api, deleteBy: 'pull-request' }));
    const button = () => screen.getByText('Delete…').closest('button')!;
    expect(button().disabled).toBe(true);
    expect(screen.queryByText(/may not delete/)).toBeNull();
    rerender(h(DeleteClaim, { entity: published, entityRef: ref, api, allowed: false, deleteBy: 'pull-request' }));
    expect(button().disabled).toBe(true);
    expect(screen.getByText(/may not delete/).textContent).toBe(
      'You may not delete this Resource (permission osp.resource.delete).',
    );
    fireEvent.click(button());
    expect(screen.queryByRole('dialog')).toBeNull();
    rerender(h(DeleteClaim, { entity: published, entityRef: ref, api, allowed: true, deleteBy: 'pull-request' }));
    expect(button().disabled).toBe(false);
  });

  it('deletes from the cluster when direct apply admits it, saying so before and after', async () => {
    api.deleteResource.mockResolvedValue({ changeKind: 'deleted', url: '', branch: '', cluster: 'prod' });
    render(h(DeleteClaim, { entity: resourceEntity, entityRef: ref, api, allowed: true, deleteBy: 'cluster' }));
    fireEvent.click(screen.getByText('Delete…'));
    expect(screen.getByRole('dialog').textContent).toMatch(/deletes PostgreSQLInstance orders-db from cluster prod now/);
    await act(async () => {
      fireEvent.click(screen.getByText('Delete now'));
    });
    expect(api.deleteResource).toHaveBeenCalledWith(ref);
    expect((await screen.findByText(/^Deleted from cluster/)).textContent).toBe('Deleted from cluster prod');
  });

  it('shows a refusal from the backend instead of failing silently', async () => {
    api.deleteResource.mockRejectedValue(new Error('not allowed: osp.resource.delete'));
    render(h(DeleteClaim, { entity: published, entityRef: ref, api, allowed: true, deleteBy: 'pull-request' }));
    fireEvent.click(screen.getByText('Delete…'));
    await act(async () => {
      fireEvent.click(screen.getByText('Open pull request'));
    });
    // The closing dialog hides the page from the accessibility tree a moment.
    expect((await screen.findByText(/^Could not delete/)).textContent).toBe(
      'Could not delete: not allowed: osp.resource.delete',
    );
  });
});
