// Test data shared by the component tests.
import type { Entity } from '@backstage/catalog-model';
import type { OspResourceNodeJson, OspResourceStatusJson } from '@osp/plugin-osp-common';

export const resourceEntity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Resource',
  metadata: {
    name: 'orders-db.postgresqlinstance.team-a.prod',
    namespace: 'default',
    annotations: {
      'osp.dev/cluster': 'prod',
      'osp.dev/api-version': 'database.example.org/v1alpha1',
      'osp.dev/kind': 'PostgreSQLInstance',
      'osp.dev/namespace': 'team-a',
      'osp.dev/name': 'orders-db',
      'osp.dev/edit-url': '/create/templates/default/postgresqlinstance?formData=%7B%7D',
      'argocd/app-name': 'claims-prod',
      'osp.dev/flux-kustomization': 'flux-system/claims',
      'osp.dev/connection-secret': 'team-a/orders-db-conn',
    },
    links: [
      { url: 'https://backstage.example.com/create/templates/default/postgresqlinstance?formData=%7B%7D', title: 'Edit' },
      { url: 'https://console.example.com/db/orders', title: 'consoleUrl' },
    ],
  },
  spec: { type: 'crossplane-claim', owner: 'group:default/team-a' },
};

/** A node with the usual two conditions. */
export function node(name: string, state: OspResourceNodeJson['state'], children: OspResourceNodeJson[] = []): OspResourceNodeJson {
  return {
    apiVersion: 'example.org/v1',
    kind: 'Object',
    namespace: '',
    name,
    state,
    conditions: [
      { type: 'Synced', status: 'True', reason: 'ReconcileSuccess', message: '', lastTransitionTime: '2026-12-03T10:00:00Z' },
      {
        type: 'Ready',
        status: state === 'ready' ? 'True' : 'False',
        reason: state === 'ready' ? 'Available' : 'Creating',
        message: state === 'ready' ? '' : `${name} is not ready`,
        lastTransitionTime: '2026-12-03T10:00:01Z',
      },
    ],
    children,
  };
}

export const status: OspResourceStatusJson = {
  entityRef: 'resource:default/orders-db.postgresqlinstance.team-a.prod',
  message: 'Waiting for the database to become available',
  status: {},
  yaml: 'apiVersion: database.example.org/v1alpha1\nkind: PostgreSQLInstance\nmetadata:\n  name: orders-db\n',
  allowed: { delete: true },
  deleteBy: 'pull-request',
  root: {
    ...node('orders-db', 'provisioning', [node('orders-db-xr', 'provisioning', [node('orders-db-rds', 'ready')])]),
    apiVersion: 'database.example.org/v1alpha1',
    kind: 'PostgreSQLInstance',
    namespace: 'team-a',
  },
};
