import type { UserInfoService } from '@backstage/backend-plugin-api';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import type { OspClient } from '@osp/backstage-client';
import type { z as Zod } from 'zod/v3';
import { callerOf, claimInputSchema, renderRequestOf } from './claim';
import { examples } from './apply.examples';

type Z = typeof Zod;

/**
 * `osp:claim:apply`: the sidecar renders the claim and server-side applies
 * it, impersonating the user when the operator configured that. Only works
 * when the operator enabled direct apply on the sidecar; a template dry-run
 * becomes a server-side dry-run.
 */
export function createApplyClaimAction(options: {
  client: OspClient;
  userInfo?: UserInfoService;
}) {
  return createTemplateAction({
    id: 'osp:claim:apply',
    description:
      'Renders a claim or XR with the osp sidecar and applies it to a cluster (when the operator enables direct apply)',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        ...claimInputSchema,
        dryRun: (z: Z) =>
          z.boolean().optional().describe('Server-side dry-run: validate, persist nothing'),
      },
      output: {
        manifest: (z: Z) => z.string().describe('The object as the API server returned it, as YAML'),
        uid: (z: Z) => z.string().describe('`metadata.uid` (empty on dry-run of a new object)'),
      },
    },
    async handler(ctx) {
      const caller = await callerOf(ctx, options.userInfo);
      const dryRun = Boolean(ctx.input.dryRun || ctx.isDryRun);
      const res = await options.client.claims.applyClaim(
        { render: renderRequestOf(ctx.input, caller, ctx.templateInfo), dryRun },
        { signal: ctx.signal },
      );
      ctx.logger.info(
        `${res.dryRun ? 'dry-run applied' : 'applied'} ${ctx.input.name} to cluster ${res.cluster}`,
      );
      ctx.output('manifest', res.applied?.yaml ?? '');
      ctx.output('uid', res.uid);
    },
  });
}
