import { isResourcePermission } from '@backstage/plugin-permission-common';
import {
  ospClaimPreviewPermission,
  ospPermissions,
  ospResourceDeletePermission,
  ospResourceReadPermission,
} from './index';

describe('osp permissions', () => {
  it('names each permission and scopes Resource ones to catalog entities', () => {
    expect(ospPermissions.map(p => p.name)).toEqual([
      'osp.resource.read',
      'osp.claim.preview',
      'osp.resource.delete',
    ]);
    expect(isResourcePermission(ospResourceReadPermission, 'catalog-entity')).toBe(true);
    expect(isResourcePermission(ospResourceDeletePermission, 'catalog-entity')).toBe(true);
    expect(ospClaimPreviewPermission.type).toBe('basic');
    expect(ospResourceDeletePermission.attributes.action).toBe('delete');
  });
});
