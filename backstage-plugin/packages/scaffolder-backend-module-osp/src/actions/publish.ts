import type { UserInfoService } from '@backstage/backend-plugin-api';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import type { OspClient } from '@osp/backstage-client';
import type { z as Zod } from 'zod/v3';
import { examples } from './publish.examples';
import { changeInputs, changeOutputs, propose } from './propose';

type Z = typeof Zod;

export { changeOf, repositoryOf, type ChangeKindOutput } from './propose';

/**
 * `osp:claim:publish`: the sidecar commits the manifest on a branch derived
 * from the idempotency key and opens (or updates) one pull request (a merge
 * request on GitLab), or, for a local Git target, leaves the commit on that
 * branch (`changeKind` `local-branch`, no URL); running the template again
 * never opens a second one. In a dry-run nothing is published (`changeKind`
 * `none`).
 */
export function createPublishClaimAction(options: {
  client: OspClient;
  userInfo?: UserInfoService;
}) {
  return createTemplateAction({
    id: 'osp:claim:publish',
    description:
      'Publishes a rendered manifest through the osp sidecar: a GitHub pull request, a GitLab merge request, or a commit on a branch of a local Git target (idempotent per key)',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        ...changeInputs,
        manifest: (z: Z) => z.string().describe('File content, usually the render output'),
        path: (z: Z) => z.string().describe('Repository path of the file'),
        idempotencyKey: (z: Z) =>
          z.string().min(1).describe('Same key, same branch and pull request'),
        updateKustomization: (z: Z) =>
          z
            .boolean()
            .optional()
            .describe(
              "Also add the file to the `kustomization.yaml` in its folder (created when missing), so Flux or Argo CD picks it up; generated Templates set it when the definition is annotated `osp.dev/kustomization: \"true\"`",
            ),
      },
      output: changeOutputs,
    },
    async handler(ctx) {
      await propose(ctx, options, {
        files: [{ path: ctx.input.path, content: ctx.input.manifest }],
        idempotencyKey: ctx.input.idempotencyKey,
        defaultTitle: `Add ${ctx.input.path}`,
        updateKustomization: ctx.input.updateKustomization ?? false,
      });
    },
  });
}
