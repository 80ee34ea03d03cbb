/** @jest-environment jsdom */
// Without JSX: the workspace's jest transform parses TypeScript only.
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { createElement as h, useState } from 'react';
import type { createScaffolderFieldExtension } from '@backstage/plugin-scaffolder-react';
import {
  OspYamlEditor,
  ospYamlEditorFieldOptions,
  ospYamlEditorValidation,
  type OspYamlEditorProps,
  type OspYamlEditorUiOptions,
} from './OspYamlEditor';
import { OSP_YAML_EDITOR_INVALID_TEXT } from './yamlValue';

// Compile-time: the options fit the legacy createScaffolderFieldExtension.
type LegacyOptions = Parameters<
  typeof createScaffolderFieldExtension<unknown, OspYamlEditorUiOptions>
>[0];
const legacyOptions: LegacyOptions = ospYamlEditorFieldOptions;

const objectSchema = {
  type: 'object' as const,
  title: 'Parameters',
  description: 'Free-form Helm values',
  additionalProperties: true,
};

function props(overrides: Partial<OspYamlEditorProps> = {}): OspYamlEditorProps {
  return {
    name: 'values',
    schema: objectSchema,
    uiSchema: {},
    idSchema: { $id: 'root_spec_values' },
    formData: undefined,
    onChange: jest.fn(),
    onBlur: jest.fn(),
    onFocus: jest.fn(),
    rawErrors: [],
    required: false,
    disabled: false,
    readonly: false,
    registry: {},
    ...overrides,
  } as unknown as OspYamlEditorProps;
}

function textarea(): HTMLTextAreaElement {
  return screen.getByTestId('osp-yaml-editor-input') as HTMLTextAreaElement;
}

function type(value: string) {
  fireEvent.change(textarea(), { target: { value } });
}

function lastValue(onChange: unknown): unknown {
  const calls = (onChange as jest.Mock).mock.calls;
  return calls[calls.length - 1][0];
}

/** What the field's validation reports for a value. */
function validate(value: unknown, schema: object = objectSchema): string[] {
  const errors: string[] = [];
  const field = { __errors: errors, addError: (m: string) => errors.push(m) };
  ospYamlEditorValidation(value, field as any, {
    apiHolder: { get: () => undefined },
    formData: {},
    schema: schema as any,
  });
  return errors;
}

/**
 * The field inside a parent that stores the value, like rjsf does; with
 * `merge`, object values get those keys added, like rjsf merges an object
 * `default` into the form data.
 */
function Harness(p: {
  initial?: unknown;
  onValue?: (v: unknown) => void;
  schema?: object;
  merge?: object;
}) {
  const [value, setValue] = useState<unknown>(p.initial);
  return h(
    'div',
    null,
    h(OspYamlEditor, {
      ...props({ schema: (p.schema ?? objectSchema) as any }),
      formData: value,
      onChange: (v: unknown) => {
        const stored =
          p.merge && v && typeof v === 'object' && !Array.isArray(v) ? { ...p.merge, ...v } : v;
        setValue(stored);
        p.onValue?.(stored);
      },
    }),
    h('button', { onClick: () => setValue({ replaced: true }) }, 'replace'),
  );
}

afterEach(cleanup);

describe('OspYamlEditor', () => {
  it('fits createScaffolderFieldExtension and is named OspYamlEditor', () => {
    expect(legacyOptions.name).toBe('OspYamlEditor');
    expect(legacyOptions.validation).toBe(ospYamlEditorValidation);
  });

  it('renders the existing object as YAML with title, description and required', () => {
    render(
      h(OspYamlEditor, {
        ...props({ required: true }),
        formData: { replicas: 2, image: { tag: 'v1' }, args: ['a', 'b'] },
      }),
    );
    expect(textarea().value).toBe('replicas: 2\nimage:\n  tag: v1\nargs:\n  - a\n  - b\n');
    expect(textarea().style.fontFamily).toMatch(/monospace/);
    expect(screen.getByLabelText(/Parameters/)).toBe(textarea());
    expect(textarea().required).toBe(true);
    expect(screen.getByText('Free-form Helm values')).toBeTruthy();
  });

  it('prefers ui:title and ui:description, and honours ui:options.rows', () => {
    render(
      h(OspYamlEditor, {
        ...props({
          uiSchema: {
            'ui:title': 'Values',
            'ui:description': 'As YAML',
            'ui:options': { rows: 12 },
          },
        }),
      }),
    );
    expect(screen.getByLabelText('Values')).toBe(textarea());
    expect(screen.getByText('As YAML')).toBeTruthy();
    expect(textarea().getAttribute('rows')).toBe('12');
  });

  it('starts empty for no value and for an empty object', () => {
    render(h(OspYamlEditor, { ...props(), formData: {} }));
    expect(textarea().value).toBe('');
  });

  it('calls onChange with the parsed object for valid YAML and JSON', () => {
    const onChange = jest.fn();
    render(h(OspYamlEditor, props({ onChange })));
    type('a: 1\nb:\n  c: [x, y]\n');
    expect(lastValue(onChange)).toEqual({ a: 1, b: { c: ['x', 'y'] } });
    type('{"a": {"b": true}, "n": null}');
    expect(lastValue(onChange)).toEqual({ a: { b: true }, n: null });
    expect(screen.queryByRole('alert')).toBeNull();
    expect(validate(lastValue(onChange))).toEqual([]);
  });

  it('shows a YAML error with line and column, and validation reports it', () => {
    const onChange = jest.fn();
    render(h(OspYamlEditor, props({ onChange })));
    type('a: 1\nb: c: d\n');
    const alert = screen.getByRole('alert');
    expect(alert.textContent).toMatch(/^YAML error at line 2, column 4: /);
    expect(textarea().getAttribute('aria-invalid')).toBe('true');
    const value = lastValue(onChange);
    expect(value).toEqual({ [OSP_YAML_EDITOR_INVALID_TEXT]: 'a: 1\nb: c: d\n' });
    expect(validate(value)).toEqual([alert.textContent]);
  });

  it('reports duplicate keys, several documents and recursive aliases', () => {
    const onChange = jest.fn();
    render(h(OspYamlEditor, props({ onChange })));
    type('a: 1\na: 2');
    expect(screen.getByRole('alert').textContent).toMatch(/line 2, column 1: Map keys must be unique/);
    type('a: 1\n---\nb: 2');
    expect(screen.getByRole('alert').textContent).toMatch(/line 2, column 1: only one document is allowed/);
    type('a: &x [*x]');
    expect(screen.getByRole('alert').textContent).toMatch(/recursive alias at a\[0\]/);
    type('a: .inf');
    expect(screen.getByRole('alert').textContent).toMatch(/Infinity is not a JSON number at a/);
  });

  it('keeps the error over re-renders and when mounted again', () => {
    let latest: unknown;
    const first = render(h(Harness, { onValue: v => (latest = v) }));
    type('a: [1');
    expect(screen.getByRole('alert').textContent).toMatch(/^YAML error at line 1/);
    first.unmount();
    // A later page, then back: the form still holds the placeholder.
    render(h(Harness, { initial: latest }));
    expect(textarea().value).toBe('a: [1');
    expect(screen.getByRole('alert').textContent).toMatch(/^YAML error at line 1/);
  });

  it('shows the error once when the submitted error is listed by the form', () => {
    const value = { [OSP_YAML_EDITOR_INVALID_TEXT]: 'a: [1' };
    const [message] = validate(value);
    render(h(OspYamlEditor, { ...props({ rawErrors: [message] }), formData: value }));
    expect(screen.queryByRole('alert')).toBeNull();
    expect(textarea().getAttribute('aria-invalid')).toBe('true');
  });

  it('rejects a scalar or a list where the schema says object', () => {
    const onChange = jest.fn();
    render(h(OspYamlEditor, props({ onChange })));
    type('42');
    expect(screen.getByRole('alert').textContent).toBe(
      'Must be a YAML mapping (key: value lines) or a JSON object, not a number',
    );
    expect(validate(lastValue(onChange))).toHaveLength(1);
    type('- a\n- b');
    expect(screen.getByRole('alert').textContent).toMatch(/not a list$/);
    // The same values arriving as form data (query string, old drafts).
    expect(validate(42)).toEqual([
      'Must be a YAML mapping (key: value lines) or a JSON object, not a number',
    ]);
    expect(validate('text')).toHaveLength(1);
    expect(validate(['a'])).toHaveLength(1);
    expect(validate(null)).toHaveLength(1);
    expect(validate(null, { type: ['object', 'null'] })).toEqual([]);
    expect(validate({ a: 1 })).toEqual([]);
  });

  it('accepts any value when the schema has no type', () => {
    const onChange = jest.fn();
    render(h(OspYamlEditor, props({ onChange, schema: {} })));
    type('- 1\n- two');
    expect(lastValue(onChange)).toEqual([1, 'two']);
    expect(validate([1, 'two'], {})).toEqual([]);
    expect(validate(7, {})).toEqual([]);
  });

  it('turns empty text (or only comments) into undefined', () => {
    const onChange = jest.fn();
    render(h(OspYamlEditor, { ...props({ onChange }), formData: { a: 1 } }));
    type('');
    expect(onChange).toHaveBeenLastCalledWith(undefined);
    type('  \n');
    expect(onChange).toHaveBeenLastCalledWith(undefined);
    type('# nothing yet\n');
    expect(onChange).toHaveBeenLastCalledWith(undefined);
    expect(screen.queryByRole('alert')).toBeNull();
    expect(validate(undefined)).toEqual([]);
  });

  it('keeps the text as typed while the value round-trips, and follows outside changes', () => {
    const values: unknown[] = [];
    render(h(Harness, { initial: { a: 1 }, onValue: v => values.push(v) }));
    type('a:    1   # kept\nb: "x"');
    expect(values[values.length - 1]).toEqual({ a: 1, b: 'x' });
    expect(textarea().value).toBe('a:    1   # kept\nb: "x"');
    act(() => {
      screen.getByText('replace').click();
    });
    expect(textarea().value).toBe('replaced: true\n');
  });

  it('does not rewrite the text while focused; shows what the form holds on blur', () => {
    const values: unknown[] = [];
    render(h(Harness, { initial: { a: 1 }, merge: { a: 1 }, onValue: v => values.push(v) }));
    expect(textarea().value).toBe('a: 1\n');
    fireEvent.focus(textarea());
    type('b: 2 # mine');
    expect(values[values.length - 1]).toEqual({ a: 1, b: 2 });
    expect(textarea().value).toBe('b: 2 # mine');
    fireEvent.blur(textarea());
    expect(textarea().value).toBe('a: 1\nb: 2\n');
  });
});
