import express from 'express';
import Router from 'express-promise-router';
import type {
  BackstageCredentials,
  HttpAuthService,
  PermissionsService,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import { AuthorizeResult, type Permission } from '@backstage/plugin-permission-common';
import {
  ChangeKind,
  deleteKeyOf,
  fieldViolationsOf,
  repositoryOf,
  type OspClient,
} from '@osp/backstage-client';
import {
  ospClaimPreviewPermission,
  ospResourceDeletePermission,
  ospResourceReadPermission,
  type OspClaimPreviewResponse,
  type OspResourceDeleteResponse,
} from '@osp/plugin-osp-common';
import { definitionJsonOf } from './definitionJson';
import { claimSourceOf, publishedSourceOf } from './claimSource';
import { previewInputOf } from './previewInput';
import { resourceTargetOf } from './resourceTarget';
import { statusJsonOf } from './statusJson';

/** What the routes need; the plugin passes Backstage's services. */
export interface RouterOptions {
  client: OspClient;
  catalog: CatalogService;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  userInfo: UserInfoService;
}

/**
 * The plugin's routes (`/api/osp/...`). Sidecar failures arrive as Backstage
 * errors (the client maps gRPC codes in one place, `toBackstageError`), so
 * Backstage's error handler answers them with the matching HTTP status.
 */
export async function createRouter(options: RouterOptions): Promise<express.Router> {
  const { client, catalog, httpAuth, permissions, userInfo } = options;
  const router = Router();
  router.use(express.json({ limit: '1mb' }));

  /** The policy's decision for `permission`, on the entity when given. */
  async function isAllowed(credentials: BackstageCredentials, permission: Permission, resourceRef?: string) {
    const [decision] = await permissions.authorize(
      [resourceRef ? { permission, resourceRef } : { permission }] as never,
      { credentials },
    );
    return decision.result === AuthorizeResult.ALLOW;
  }

  async function authorize(credentials: BackstageCredentials, permission: Permission, resourceRef?: string) {
    if (!(await isAllowed(credentials, permission, resourceRef))) {
      throw new NotAllowedError(`not allowed: ${permission.name}`);
    }
  }

  /** The entity `raw` names, read with the caller's credentials. */
  async function entityOf(raw: unknown, credentials: BackstageCredentials, defaultKind: string) {
    if (typeof raw !== 'string' || !raw) {
      throw new InputError(`entityRef: required, e.g. ${defaultKind}:default/orders-db`);
    }
    let ref: string;
    try {
      ref = stringifyEntityRef(parseEntityRef(raw, { defaultKind, defaultNamespace: 'default' }));
    } catch (e) {
      throw new InputError(`entityRef: ${(e as Error).message}`);
    }
    // What the catalog hides from the caller does not exist here either.
    const entity = await catalog.getEntityByRef(ref, { credentials });
    if (!entity) {
      throw new NotFoundError(`no entity ${ref}`);
    }
    return { ref, entity };
  }

  /** The Resource entity `raw` names, and the object behind it. */
  async function resourceOf(raw: unknown, credentials: BackstageCredentials) {
    const { ref, entity } = await entityOf(raw, credentials, 'resource');
    return { ref, entity, target: resourceTargetOf(entity, ref) };
  }

  router.get('/resources/status', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const { ref, entity, target } = await resourceOf(req.query.entityRef, credentials);
    await authorize(credentials, ospResourceReadPermission, ref);
    const [status, canDelete] = await Promise.all([
      client.catalog.getResourceStatus(target, { signal: signalOf(res) }),
      isAllowed(credentials, ospResourceDeletePermission, ref),
    ]);
    res.json(statusJsonOf(ref, status, { delete: canDelete }, !!publishedSourceOf(entity)));
  });

  router.get('/definitions/summary', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const { ref, entity } = await entityOf(req.query.entityRef, credentials, 'template');
    const definition = entity.metadata.annotations?.['osp.dev/definition'];
    if (!definition) {
      throw new NotFoundError(`${ref} is not an osp Template or API (no osp.dev/definition annotation)`);
    }
    await authorize(credentials, ospResourceReadPermission, ref);
    const out = await client.templates.listDefinitions({ cluster: '' }, { signal: signalOf(res) });
    res.json(definitionJsonOf(ref, definition, out.definitions));
  });

  router.post('/resources/delete', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user'] });
    const { ref, entity, target } = await resourceOf((req.body ?? {}).entityRef, credentials);
    if (!publishedSourceOf(entity)) {
      // Not published through osp: deleted from its cluster when direct
      // apply admits it (the sidecar says so in the status).
      const status = await client.catalog.getResourceStatus(target, { signal: signalOf(res) });
      if (!status.directDelete) claimSourceOf(entity, ref);
      await authorize(credentials, ospResourceDeletePermission, ref);
      const out = await client.claims.deleteClaim(
        {
          cluster: target.cluster,
          apiVersion: target.apiVersion,
          kind: target.kind,
          namespace: target.namespace,
          name: target.name,
          caller: await callerOf(credentials, userInfo),
        },
        { signal: signalOf(res) },
      );
      const body: OspResourceDeleteResponse = {
        changeKind: out.deleted ? 'deleted' : 'none',
        url: '',
        branch: '',
        cluster: out.cluster,
      };
      res.json(body);
      return;
    }
    const source = claimSourceOf(entity, ref);
    await authorize(credentials, ospResourceDeletePermission, ref);
    const { host, repository } = repositoryOf(source.repoUrl);
    const out = await client.publish.createPullRequest(
      {
        repository,
        host,
        files: [{ path: source.path, delete: true }],
        title: `Delete ${target.kind} ${target.name}`,
        idempotencyKey: deleteKeyOf(source.idempotencyKey),
        updateKustomization: true,
        caller: await callerOf(credentials, userInfo),
        entityRefs: [ref],
      },
      { signal: signalOf(res) },
    );
    const kinds: Record<number, OspResourceDeleteResponse['changeKind']> = {
      [ChangeKind.PULL_REQUEST]: 'pull-request',
      [ChangeKind.LOCAL_BRANCH]: 'local-branch',
    };
    const body: OspResourceDeleteResponse = {
      changeKind: kinds[out.changeKind] ?? 'none',
      url: out.changeKind === ChangeKind.PULL_REQUEST ? out.url : '',
      branch: out.branch,
    };
    res.json(body);
  });

  router.post('/claims/preview', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const input = previewInputOf(req.body);
    await authorize(credentials, ospClaimPreviewPermission);
    const caller = await callerOf(credentials, userInfo);
    try {
      const out = await client.claims.renderClaim(
        {
          definition: { source: { case: 'name', value: input.definition }, cluster: input.cluster ?? '' },
          name: input.name,
          namespace: input.namespace ?? '',
          // JSON text keeps integers exact; a Struct would turn them into doubles.
          valuesJson: JSON.stringify(input.values ?? {}),
          owner: input.owner || caller.userEntityRef || '',
          caller,
          cluster: input.cluster ?? '',
        },
        { signal: signalOf(res) },
      );
      const body: OspClaimPreviewResponse = {
        manifest: out.manifest?.yaml ?? '',
        violations: [],
        warnings: out.warnings.map(w => ({ path: w.path, message: w.message })),
        idempotencyKey: out.idempotencyKey,
        path: out.path,
        entityRef: out.entityRef,
      };
      res.json(body);
    } catch (e) {
      // Invalid values are the answer a preview exists for: the form lists
      // them. Other failures (unknown definition, sidecar down) stay errors.
      const violations = fieldViolationsOf(e);
      if (!(e instanceof InputError) || violations.length === 0) {
        throw e;
      }
      const body: OspClaimPreviewResponse = {
        manifest: '',
        violations,
        warnings: [],
        idempotencyKey: '',
        path: '',
        entityRef: '',
      };
      res.json(body);
    }
  });

  return router;
}

/** The signed-in user, for the sidecar's audit and impersonation. */
async function callerOf(credentials: BackstageCredentials, userInfo: UserInfoService) {
  const principal = credentials.principal as { type?: string; userEntityRef?: string };
  if (principal.type !== 'user') {
    return { userEntityRef: '', ownershipEntityRefs: [] };
  }
  const info = await userInfo.getUserInfo(credentials as never);
  return { userEntityRef: info.userEntityRef, ownershipEntityRefs: info.ownershipEntityRefs };
}

/** Aborts the sidecar call when the browser goes away (a poll abandoned). */
function signalOf(res: express.Response): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}
