import type { UserInfoService } from '@backstage/backend-plugin-api';
import type { ActionContext } from '@backstage/plugin-scaffolder-node';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type {
  CallerSchema,
  RenderClaimRequestSchema,
} from '@osp/backstage-client';

/** A Caller as the client accepts it. */
export type CallerInit = MessageInitShape<typeof CallerSchema>;
/** A RenderClaimRequest as the client accepts it. */
export type RenderClaimInit = MessageInitShape<typeof RenderClaimRequestSchema>;
import type { JsonObject } from '@backstage/types';
import type { z } from 'zod/v3';

/**
 * Input the render and apply actions share. Field names are the contract
 * with the templates the sidecar generates; keep them exactly.
 */
export interface ClaimInput {
  definition: string;
  name: string;
  namespace?: string;
  owner: string;
  values?: Record<string, unknown>;
  composition?: {
    compositionName?: string;
    compositionSelector?: Record<string, string>;
    updatePolicy?: string;
    connectionSecretName?: string;
    compositeDeletePolicy?: string;
  };
  templateRef?: string;
  cluster?: string;
  repoUrl?: string;
  targetPath?: string;
}

/** Zod schemas of {@link ClaimInput}, in the `createTemplateAction` form. */
export const claimInputSchema = {
  definition: (z: Z) =>
    z
      .string()
      .min(1)
      .describe(
        'Name of the definition (XRD, RGD or Promise) the sidecar knows, e.g. `xpostgresqlinstances.database.example.org`',
      ),
  name: (z: Z) =>
    z.string().min(1).describe('`metadata.name` of the claim or XR'),
  namespace: (z: Z) =>
    z
      .string()
      .optional()
      .describe('`metadata.namespace`; only for namespaced kinds'),
  owner: (z: Z) =>
    z
      .string()
      .describe('Entity ref of the owner, e.g. `group:default/team-a`'),
  values: (z: Z) =>
    z
      .record(z.string(), z.any())
      .optional()
      .describe("The claim's own spec fields, nested as in the schema"),
  composition: (z: Z) =>
    z
      .object({
        compositionName: z.string().optional(),
        compositionSelector: z.record(z.string(), z.string()).optional(),
        updatePolicy: z.string().optional(),
        connectionSecretName: z.string().optional(),
        compositeDeletePolicy: z
          .string()
          .optional()
          .describe('`Background` or `Foreground` (claims only)'),
      })
      .optional()
      .describe('Composition choices from the advanced page'),
  templateRef: (z: Z) =>
    z
      .string()
      .optional()
      .describe(
        "Ref of the template, recorded as provenance (`osp.dev/template`); the running task's template when empty",
      ),
  cluster: (z: Z) =>
    z
      .string()
      .optional()
      .describe('Target cluster; picks the repository path and apply target'),
  repoUrl: (z: Z) =>
    z
      .string()
      .optional()
      .describe(
        'Repository the manifest is published to (RepoUrlPicker form): the claim records it with its path and key, so its Resource can be deleted from Backstage',
      ),
  targetPath: (z: Z) =>
    z
      .string()
      .optional()
      .describe('The path publishing writes to, when the Template fixes one'),
};

// The zod instance createTemplateAction hands to each schema callback.
type Z = typeof z;

/** The template info the scaffolder hands an action (`ctx.templateInfo`). */
export type TemplateInfoOf = ActionContext<JsonObject>['templateInfo'];

/**
 * Builds the RenderClaim request (plain init object) from action input.
 * Provenance is the `templateRef` input when given, else the template of
 * the running task: templates cannot pass it themselves, since their
 * context has no `templateInfo`.
 */
export function renderRequestOf(
  input: ClaimInput,
  caller: CallerInit,
  templateInfo?: TemplateInfoOf,
): RenderClaimInit {
  return {
    definition: {
      source: { case: 'name', value: input.definition },
      cluster: input.cluster ?? '',
    },
    name: input.name,
    namespace: input.namespace ?? '',
    // JSON text keeps integers exact; a Struct would turn them into doubles.
    valuesJson: JSON.stringify(input.values ?? {}),
    owner: input.owner,
    templateRef: input.templateRef || templateInfo?.entityRef || '',
    composition: input.composition,
    caller,
    cluster: input.cluster ?? '',
    repoUrl: input.repoUrl ?? '',
    targetPath: input.targetPath ?? '',
  };
}

/**
 * Who runs the template: the user's ref and ownership refs, from the
 * signed-in credentials when there are some, else from the task's user
 * entity. The sidecar uses it for audit and impersonation.
 */
export async function callerOf(
  ctx: Pick<ActionContext<JsonObject>, 'user' | 'getInitiatorCredentials'>,
  userInfo?: UserInfoService,
): Promise<CallerInit> {
  const ref = ctx.user?.ref ?? '';
  let ownership: string[] | undefined;
  if (userInfo) {
    try {
      const credentials = await ctx.getInitiatorCredentials();
      if (credentials.principal && (credentials.principal as { type?: string }).type === 'user') {
        const info = await userInfo.getUserInfo(credentials as never);
        ownership = info.ownershipEntityRefs;
      }
    } catch {
      // Not signed in as a user (a service or a dry-run): fall back below.
    }
  }
  if (!ownership) {
    const memberOf = (ctx.user?.entity?.relations ?? [])
      .filter(r => r.type === 'memberOf')
      .map(r => r.targetRef);
    ownership = ref ? [ref, ...memberOf] : memberOf;
  }
  return { userEntityRef: ref, ownershipEntityRefs: ownership };
}
