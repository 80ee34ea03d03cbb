// The OspClaimPreview scaffolder field: the claim the form would create,
// rendered and validated by the sidecar while the user types.
import { createElement as h, useEffect, useState } from 'react';
import Typography from '@material-ui/core/Typography';
import type {
  FieldExtensionComponentProps,
  FieldExtensionOptions,
} from '@backstage/plugin-scaffolder-react';
import type { OspClaimPreviewRequest, OspClaimPreviewResponse } from '@osp/plugin-osp-common';
import { useOspApi } from '../api/useOspApi';

/** The name templates use: `ui:field: OspClaimPreview`. @public */
export const OSP_CLAIM_PREVIEW_FIELD_NAME = 'OspClaimPreview';

/**
 * `ui:options` of the field: the definition, and where in the form's data
 * the claim's name, namespace, values and cluster are (defaults: the keys
 * the generated Templates use).
 *
 * @public
 */
export type OspClaimPreviewUiOptions = {
  /** Name of the definition, e.g. `xpostgresqlinstances.database.example.org`. */
  definition?: string;
  /** Form key of `metadata.name` (default `name`). */
  nameField?: string;
  /** Form key of `metadata.namespace` (default `namespace`). */
  namespaceField?: string;
  /** A fixed namespace, when the form has no namespace field. */
  namespace?: string;
  /** Form key of the claim's own fields (default `spec`). */
  valuesField?: string;
  /** Form key of the cluster choice (default `cluster`). */
  clusterField?: string;
  /** Form key of the owner entity ref (default `owner`; else the signed-in user). */
  ownerField?: string;
  /**
   * The claim's values as the render step builds them: any string that is
   * exactly `${{ parameters.<path> }}` is replaced by the form's value there
   * (the generated Templates pass their render step's `values`, so fields
   * moved to other pages are found). Takes precedence over `valuesField`.
   */
  values?: string | object;
  /** Debounce before asking the sidecar, in milliseconds (default 400). */
  debounceMs?: number;
};

/** Props of {@link OspClaimPreview}. @public */
export type OspClaimPreviewProps = FieldExtensionComponentProps<unknown, OspClaimPreviewUiOptions>;

/** The preview request for the form's current data, or undefined without a definition. */
export function previewRequestOf(
  options: OspClaimPreviewUiOptions,
  formData: Record<string, unknown>,
): OspClaimPreviewRequest | undefined {
  if (!options.definition) return undefined;
  const text = (key: string) => (typeof formData[key] === 'string' ? (formData[key] as string) : undefined);
  const values =
    options.values !== undefined ? resolveReferences(options.values, formData) : formData[options.valuesField ?? 'spec'];
  return {
    definition: options.definition,
    name: text(options.nameField ?? 'name') ?? '',
    namespace: text(options.namespaceField ?? 'namespace') ?? options.namespace,
    values: values && typeof values === 'object' && !Array.isArray(values) ? (values as Record<string, unknown>) : {},
    cluster: text(options.clusterField ?? 'cluster'),
    owner: text(options.ownerField ?? 'owner'),
  };
}

const REFERENCE = /^\$\{\{\s*parameters((?:\.[A-Za-z_][A-Za-z0-9_]*|\["(?:[^"\\]|\\.)*"\])+)\s*\}\}$/;
const SEGMENT = /\.([A-Za-z_][A-Za-z0-9_]*)|\[("(?:[^"\\]|\\.)*")\]/g;

/**
 * `template` with every `${{ parameters.a.b }}` / `${{ parameters.a["x-y"] }}`
 * string replaced by the form's value at that path; values left unset by the
 * user are dropped, as the scaffolder drops them from the render step.
 */
export function resolveReferences(template: unknown, formData: Record<string, unknown>): unknown {
  if (typeof template === 'string') {
    const m = REFERENCE.exec(template);
    if (!m) return template;
    let at: unknown = formData;
    for (const seg of m[1].matchAll(SEGMENT)) {
      const key = seg[1] ?? (JSON.parse(seg[2]) as string);
      at = at && typeof at === 'object' && !Array.isArray(at) ? (at as Record<string, unknown>)[key] : undefined;
    }
    return at;
  }
  if (Array.isArray(template)) return template.map(t => resolveReferences(t, formData));
  if (template && typeof template === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(template)) {
      const r = resolveReferences(v, formData);
      if (r !== undefined) out[k] = r;
    }
    return out;
  }
  return template;
}

type Preview =
  | { kind: 'idle' }
  | { kind: 'loading'; last?: OspClaimPreviewResponse }
  | { kind: 'done'; result: OspClaimPreviewResponse }
  | { kind: 'failed'; error: Error };

/**
 * Shows the manifest the form would create, or every violation (schema and
 * CEL) with its field path. It asks `POST /api/osp/claims/preview` once the
 * form has been still for `debounceMs`; the form value is left untouched.
 *
 * @public
 */
export function OspClaimPreview(props: OspClaimPreviewProps): JSX.Element {
  const api = useOspApi();
  const options = (props.uiSchema?.['ui:options'] ?? {}) as OspClaimPreviewUiOptions;
  const formData = ((props.formContext as { formData?: Record<string, unknown> } | undefined)?.formData ??
    {}) as Record<string, unknown>;
  const request = previewRequestOf(options, formData);
  // The key of what to preview: a change of any input starts a new wait.
  const key = request ? JSON.stringify(request) : '';
  const [preview, setPreview] = useState<Preview>({ kind: 'idle' });

  useEffect(() => {
    if (!key) return undefined;
    const controller = new AbortController();
    setPreview(p => ({ kind: 'loading', last: p.kind === 'done' ? p.result : p.kind === 'loading' ? p.last : undefined }));
    const timer = setTimeout(() => {
      api
        .previewClaim(JSON.parse(key), { signal: controller.signal })
        .then(result => !controller.signal.aborted && setPreview({ kind: 'done', result }))
        .catch(error => !controller.signal.aborted && setPreview({ kind: 'failed', error }));
    }, options.debounceMs ?? 400);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [api, key, options.debounceMs]);

  const title = props.uiSchema?.['ui:title'] ?? props.schema?.title ?? 'Preview';
  const result = preview.kind === 'done' ? preview.result : preview.kind === 'loading' ? preview.last : undefined;
  return h(
    'div',
    { 'data-testid': 'osp-claim-preview' },
    h(Typography, { variant: 'subtitle1' }, title),
    !request
      ? h(Typography, { role: 'alert', color: 'error', variant: 'body2' }, 'OspClaimPreview needs ui:options.definition')
      : null,
    preview.kind === 'loading' ? h(Typography, { variant: 'caption' }, 'Checking…') : null,
    preview.kind === 'failed'
      ? h(Typography, { role: 'alert', color: 'error', variant: 'body2' }, `Preview failed: ${preview.error.message}`)
      : null,
    result && result.violations.length > 0
      ? h(
          'ul',
          { 'aria-label': 'Violations', style: { color: '#c62828' } },
          ...result.violations.map((v, i) => h('li', { key: `${v.field}:${i}` }, h('code', null, v.field), `: ${v.description}`)),
        )
      : null,
    result && result.warnings.length > 0
      ? h(
          'ul',
          { 'aria-label': 'Warnings' },
          ...result.warnings.map((w, i) => h('li', { key: `${w.path}:${i}` }, h('code', null, w.path), `: ${w.message}`)),
        )
      : null,
    result && result.manifest
      ? h(
          'div',
          null,
          result.path ? h(Typography, { variant: 'caption' }, `Path: ${result.path}`) : null,
          h(
            'pre',
            { 'aria-label': 'Manifest', style: { overflowX: 'auto', fontSize: '0.8rem', margin: '4px 0' } },
            result.manifest,
          ),
        )
      : null,
  );
}

/**
 * The field for the legacy frontend system:
 * `scaffolderPlugin.provide(createScaffolderFieldExtension(ospClaimPreviewFieldOptions))`.
 *
 * @public
 */
export const ospClaimPreviewFieldOptions: FieldExtensionOptions<unknown, OspClaimPreviewUiOptions> = {
  name: OSP_CLAIM_PREVIEW_FIELD_NAME,
  component: OspClaimPreview,
};
