import type { UserInfoService } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { deleteKeyOf, type OspClient } from '@osp/backstage-client';
import type { z as Zod } from 'zod/v3';
import { examples } from './delete.examples';
import { changeInputs, changeOutputs, propose } from './propose';

type Z = typeof Zod;

export { deleteKeyOf };

/**
 * `osp:claim:delete`: proposes removing a claim's manifest (and its entry in
 * the folder's `kustomization.yaml`) as a pull request (a merge request on
 * GitLab); after merge, Flux or Argo CD prune the claim. Idempotent like
 * `osp:claim:publish`: running it again never opens a second one, and a file
 * already gone changes nothing (`changeKind` `none`).
 */
export function createDeleteClaimAction(options: {
  client: OspClient;
  userInfo?: UserInfoService;
}) {
  return createTemplateAction({
    id: 'osp:claim:delete',
    description:
      "Proposes deleting a claim's manifest through the osp sidecar: a pull request (GitHub), a merge request (GitLab), or a commit on a local Git branch",
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        ...changeInputs,
        path: (z: Z) => z.string().describe("Repository path of the claim's manifest"),
        idempotencyKey: (z: Z) =>
          z
            .string()
            .describe("The claim's idempotency key (as `osp:claim:render` gave it); the deletion gets its own branch from it"),
        updateKustomization: (z: Z) =>
          z
            .boolean()
            .optional()
            .describe("Also remove the file from its folder's `kustomization.yaml` [default: true]"),
      },
      output: changeOutputs,
    },
    async handler(ctx) {
      if (!ctx.input.path.trim()) {
        throw new InputError('path: required, the repository path of the claim manifest');
      }
      if (!ctx.input.idempotencyKey.trim()) {
        throw new InputError("idempotencyKey: required, the claim's key");
      }
      await propose(ctx, options, {
        files: [{ path: ctx.input.path, delete: true }],
        idempotencyKey: deleteKeyOf(ctx.input.idempotencyKey),
        defaultTitle: `Delete ${ctx.input.path}`,
        updateKustomization: ctx.input.updateKustomization ?? true,
      });
    },
  });
}
