import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OspClient } from '@osp/backstage-client';

/** A client whose every method is a jest mock. */
export function mockClient() {
  return {
    templates: { convertDefinition: jest.fn(), listDefinitions: jest.fn() },
    claims: { renderClaim: jest.fn(), applyClaim: jest.fn() },
    publish: { createPullRequest: jest.fn() },
    catalog: { getSnapshot: jest.fn(), getDelta: jest.fn() },
    ready: jest.fn(async () => true),
  };
}

export function asClient(m: ReturnType<typeof mockClient>): OspClient {
  return m as unknown as OspClient;
}

export function workspace(): string {
  return mkdtempSync(join(tmpdir(), 'osp-workspace-'));
}

/** The task's user as the scaffolder decorates it. */
export const jane = {
  ref: 'user:default/jane',
  entity: {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'User',
    metadata: { name: 'jane' },
    spec: {},
    relations: [
      { type: 'memberOf', targetRef: 'group:default/team-a' },
      { type: 'ownerOf', targetRef: 'component:default/x' },
    ],
  },
};
