// The OspYamlEditor scaffolder field: free-form objects (Kubernetes
// `x-kubernetes-preserve-unknown-fields`) edited as YAML or JSON text.
//
// Written without JSX: the workspace's jest transform parses TypeScript only.
import {
  createElement as h,
  useCallback,
  useEffect,
  useMemo,
  useRef,
  useState,
  type ChangeEvent,
} from 'react';
import FormHelperText from '@material-ui/core/FormHelperText';
import TextField from '@material-ui/core/TextField';
import type {
  CustomFieldValidator,
  FieldExtensionComponentProps,
  FieldExtensionOptions,
} from '@backstage/plugin-scaffolder-react';
import {
  analyseYamlText,
  formValueOf,
  formValueProblem,
  jsonEqual,
  textOf,
  type JsonValue,
  type SchemaLike,
} from './yamlValue';

/** The name templates use: `ui:field: OspYamlEditor`. @public */
export const OSP_YAML_EDITOR_FIELD_NAME = 'OspYamlEditor';

/** `ui:options` of the field. @public */
export type OspYamlEditorUiOptions = {
  /** Fixed height of the text area in lines; by default it grows from 4 to 24 lines. */
  rows?: number;
};

/**
 * The form value of the field: a JSON value (an object for `type: object`),
 * `undefined` when empty. Typed `unknown` in the props: rjsf's recursive
 * `UiSchema<T>` cannot be instantiated with the recursive {@link JsonValue}.
 *
 * @public
 */
export type OspYamlEditorValue = JsonValue | undefined;

/** Props of {@link OspYamlEditor}. @public */
export type OspYamlEditorProps = FieldExtensionComponentProps<
  unknown,
  OspYamlEditorUiOptions
>;

const MONOSPACE =
  'ui-monospace, SFMono-Regular, SF Mono, Menlo, Consolas, "Liberation Mono", monospace';

function positiveInt(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * A multiline monospace text area holding YAML (or JSON). The form value is
 * the parsed value; empty text is `undefined`. While the text does not parse,
 * or is not of the schema's `type` (a scalar or list where an object is
 * wanted), the error is shown under the field and the form holds a
 * placeholder that {@link ospYamlEditorValidation} rejects.
 *
 * @public
 */
export function OspYamlEditor(props: OspYamlEditorProps): JSX.Element {
  const {
    formData,
    onChange,
    onBlur,
    onFocus,
    schema,
    uiSchema,
    idSchema,
    name,
    required,
    disabled,
    readonly,
    autofocus,
    rawErrors = [],
  } = props;

  const [text, setText] = useState(() => textOf(formData));
  // The value this field last put into the form. A formData that differs
  // from it comes from outside (defaults, a reset, or rjsf merging an object
  // `default` into what was typed) and replaces the text, but not while the
  // user is typing in the field: then it waits for the blur.
  const emitted = useRef<unknown>(formData);
  const latest = useRef<unknown>(formData);
  const focused = useRef(false);
  latest.current = formData;
  const resync = useCallback(() => {
    if (!jsonEqual(latest.current, emitted.current)) {
      emitted.current = latest.current;
      setText(textOf(latest.current));
    }
  }, []);
  useEffect(() => {
    if (!focused.current) resync();
  }, [formData, resync]);

  const analysis = useMemo(
    () => analyseYamlText(text, schema as SchemaLike),
    [text, schema],
  );

  const handleChange = useCallback(
    (event: ChangeEvent<HTMLTextAreaElement | HTMLInputElement>) => {
      const next = event.target.value;
      setText(next);
      const value = formValueOf(next, analyseYamlText(next, schema as SchemaLike));
      emitted.current = value;
      onChange(value);
    },
    [onChange, schema],
  );

  const id = idSchema?.$id ?? name;
  const title = (uiSchema?.['ui:title'] as string | undefined) ?? schema?.title ?? name;
  const description =
    (uiSchema?.['ui:description'] as string | undefined) ?? schema?.description;
  const placeholder =
    (uiSchema?.['ui:placeholder'] as string | undefined) ?? 'key: value';
  const rows = positiveInt(uiSchema?.['ui:options']?.rows);

  const parseError = analysis.kind === 'error' ? analysis.message : undefined;
  // After a submit the same message also arrives in rawErrors, which the
  // form's field template lists below the field; show it once.
  const inlineError =
    parseError !== undefined && !rawErrors.includes(parseError) ? parseError : undefined;
  const descriptionId = description ? `${id}-helper-text` : undefined;
  const errorId = inlineError ? `${id}-yaml-error` : undefined;
  const describedBy = [descriptionId, errorId].filter(Boolean).join(' ') || undefined;

  return h(
    'div',
    { className: 'osp-yaml-editor' },
    h(TextField, {
      id,
      label: title,
      required,
      disabled,
      autoFocus: autofocus,
      fullWidth: true,
      margin: 'normal',
      variant: 'outlined',
      multiline: true,
      minRows: rows ?? 4,
      maxRows: rows ?? 24,
      value: text,
      placeholder,
      error: parseError !== undefined || rawErrors.length > 0,
      helperText: description,
      onChange: handleChange,
      onBlur: () => {
        focused.current = false;
        resync();
        onBlur?.(id, latest.current);
      },
      onFocus: () => {
        focused.current = true;
        onFocus?.(id, latest.current);
      },
      InputProps: { readOnly: readonly },
      inputProps: {
        spellCheck: false,
        autoCapitalize: 'off',
        autoCorrect: 'off',
        'aria-describedby': describedBy,
        'data-testid': 'osp-yaml-editor-input',
        style: { fontFamily: MONOSPACE, fontSize: '0.875rem', lineHeight: 1.5 },
      },
    }),
    inlineError
      ? h(
          FormHelperText,
          { id: errorId, error: true, role: 'alert', style: { whiteSpace: 'pre-wrap' } },
          inlineError,
        )
      : null,
  );
}

/**
 * The field's rjsf `validation`: reports the YAML error of an invalid text,
 * and a value whose JSON type the schema's `type` does not allow (for
 * `type: object`, any scalar or list), so the step cannot be submitted.
 *
 * @public
 */
export const ospYamlEditorValidation: CustomFieldValidator<
  unknown,
  OspYamlEditorUiOptions
> = (data, field, context) => {
  const problem = formValueProblem(data, context?.schema as SchemaLike);
  if (problem) field.addError(problem);
};

/**
 * Options for `createScaffolderFieldExtension` (legacy frontend system):
 *
 * ```ts
 * export const OspYamlEditorFieldExtension = scaffolderPlugin.provide(
 *   createScaffolderFieldExtension(ospYamlEditorFieldOptions),
 * );
 * ```
 *
 * @public
 */
export const ospYamlEditorFieldOptions: FieldExtensionOptions<
  unknown,
  OspYamlEditorUiOptions
> = {
  name: OSP_YAML_EDITOR_FIELD_NAME,
  component: OspYamlEditor,
  validation: ospYamlEditorValidation,
  schema: {
    returnValue: {},
    uiOptions: {
      type: 'object',
      properties: {
        rows: {
          type: 'integer',
          minimum: 1,
          description: 'Fixed height of the text area in lines (default: grows from 4 to 24)',
        },
      },
    },
  },
};
