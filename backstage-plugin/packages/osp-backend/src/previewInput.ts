import { InputError } from '@backstage/errors';
import type { OspClaimPreviewRequest } from '@osp/plugin-osp-common';

/**
 * Checks the body's shape only (what the sidecar's own validation does not
 * see: a missing definition, a list where values belong); each failure
 * names its field.
 */
export function previewInputOf(body: unknown): OspClaimPreviewRequest {
  if (!isObject(body)) {
    throw new InputError('the request body must be a JSON object');
  }
  const { definition, name, namespace, values, owner, cluster } = body;
  if (typeof definition !== 'string' || !definition) {
    throw new InputError('definition: must be a non-empty string (the definition name)');
  }
  if (typeof name !== 'string') {
    throw new InputError('name: must be a string');
  }
  for (const [field, value] of Object.entries({ namespace, owner, cluster })) {
    if (value !== undefined && typeof value !== 'string') {
      throw new InputError(`${field}: must be a string`);
    }
  }
  if (values !== undefined && !isObject(values)) {
    throw new InputError('values: must be a JSON object');
  }
  return {
    definition,
    name,
    namespace: namespace as string | undefined,
    values: values as Record<string, unknown> | undefined,
    owner: owner as string | undefined,
    cluster: cluster as string | undefined,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
