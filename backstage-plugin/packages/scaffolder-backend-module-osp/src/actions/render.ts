import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  resolveSafeChildPath,
  type UserInfoService,
} from '@backstage/backend-plugin-api';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import type { OspClient } from '@osp/backstage-client';
import { callerOf, claimInputSchema, renderRequestOf } from './claim';
import { examples } from './render.examples';

/** Outputs the render action produces (the publish action's inputs). */
export const claimOutputSchema = {
  manifest: (z: typeof import('zod/v3').z) =>
    z.string().describe('The claim or XR as YAML'),
  path: (z: typeof import('zod/v3').z) =>
    z.string().describe('Repository path the sidecar suggests for the manifest'),
  idempotencyKey: (z: typeof import('zod/v3').z) =>
    z.string().describe('Stable key of this claim, for the pull request branch (the sidecar\'s)'),
  entityRef: (z: typeof import('zod/v3').z) =>
    z
      .string()
      .describe(
        'Ref of the `Resource` entity the catalog will list the claim as, e.g. `resource:default/orders-db.postgresqlinstance.team-a.prod`',
      ),
  apiVersion: (z: typeof import('zod/v3').z) =>
    z.string().describe('`apiVersion` of the manifest'),
  kind: (z: typeof import('zod/v3').z) =>
    z.string().describe('`kind` of the manifest'),
};

/**
 * `osp:claim:render`: the sidecar builds and validates the claim (or XR)
 * from the form values; the manifest lands in the workspace and in the
 * outputs. Invalid values fail with an `InputError` naming each field.
 */
export function createRenderClaimAction(options: {
  client: OspClient;
  userInfo?: UserInfoService;
}) {
  return createTemplateAction({
    id: 'osp:claim:render',
    description:
      'Renders and validates a Crossplane claim or XR (or KRO / Kratix resource) with the osp sidecar and writes it into the workspace',
    examples,
    supportsDryRun: true,
    schema: { input: claimInputSchema, output: claimOutputSchema },
    async handler(ctx) {
      const caller = await callerOf(ctx, options.userInfo);
      const res = await options.client.claims.renderClaim(
        renderRequestOf(ctx.input, caller, ctx.templateInfo),
        { signal: ctx.signal },
      );
      const manifest = res.manifest?.yaml ?? '';
      // The sidecar owns the path and the key (one rule, in the core): an
      // answer without them is from a sidecar too old for this action.
      const { path, idempotencyKey } = res;
      if (!path || !idempotencyKey) {
        throw new Error(
          'the osp sidecar answered RenderClaim without `path` and `idempotencyKey`: upgrade the sidecar (this action computes neither itself)',
        );
      }
      const target = resolveSafeChildPath(ctx.workspacePath, path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, manifest, 'utf8');
      for (const w of res.warnings) {
        ctx.logger.warn(`${w.path}: ${w.message}`);
      }
      ctx.logger.info(`rendered ${res.kind} ${ctx.input.name} to ${path}`);
      ctx.output('manifest', manifest);
      ctx.output('path', path);
      ctx.output('idempotencyKey', idempotencyKey);
      ctx.output('entityRef', res.entityRef);
      ctx.output('apiVersion', res.apiVersion);
      ctx.output('kind', res.kind);
    },
  });
}
