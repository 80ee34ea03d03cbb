// The text <-> value logic of the OspYamlEditor field, free of React.
import { parseDocument, stringify } from 'yaml';

/** A JSON value, what a scaffolder form holds. @public */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

/**
 * The key of the placeholder object the field puts into the form while its
 * text is not a valid value (a YAML error, or a scalar where the schema wants
 * an object): `{ [OSP_YAML_EDITOR_INVALID_TEXT]: '<the text>' }`.
 *
 * The placeholder keeps the text (and so the error) when the field is
 * mounted again (pages of the form, browser history), and it is an object, so
 * the form's JSON Schema check passes it on to the field's `validation`,
 * which reports the error and blocks the step. It never reaches a task: a step
 * holding it does not validate.
 *
 * @public
 */
export const OSP_YAML_EDITOR_INVALID_TEXT = '__ospYamlEditorInvalidText';

/** The part of a JSON Schema the field looks at. */
export type SchemaLike = { type?: unknown } | undefined | null;

/** What a text means: nothing, a value, or an error to show. */
export type YamlAnalysis =
  | { kind: 'empty' }
  | { kind: 'value'; value: JsonValue }
  | { kind: 'error'; message: string; line?: number; column?: number };

class NotJson extends Error {}

/** Is this the placeholder of an invalid text? */
export function isInvalidTextPlaceholder(
  value: unknown,
): value is { [OSP_YAML_EDITOR_INVALID_TEXT]: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as Record<string, unknown>)[OSP_YAML_EDITOR_INVALID_TEXT] ===
      'string'
  );
}

/** Parses the editor's text (YAML 1.2, so JSON too) and checks it against the schema's `type`. */
export function analyseYamlText(text: string, schema?: SchemaLike): YamlAnalysis {
  if (text.trim() === '') return { kind: 'empty' };
  const doc = parseDocument(text, { prettyErrors: true });
  const [err] = doc.errors;
  if (err) {
    const pos = err.linePos?.[0];
    // yaml's message is "<what> at line L, column C:\n\n<excerpt>".
    const head =
      err.code === 'MULTIPLE_DOCS'
        ? 'only one document is allowed (remove the `---` separator)'
        : err.message
            .split('\n')[0]
            .replace(/\s*at line \d+, column \d+:?\s*$/, '')
            .replace(/[:\s]+$/, '');
    return pos
      ? {
          kind: 'error',
          message: `YAML error at line ${pos.line}, column ${pos.col}: ${head}`,
          line: pos.line,
          column: pos.col,
        }
      : { kind: 'error', message: `YAML error: ${head}` };
  }
  // Only comments (or a lone `---`): no value.
  if (doc.contents === null) return { kind: 'empty' };
  let value: JsonValue;
  try {
    value = toJson(doc.toJS({ maxAliasCount: 100 }), '', new Set());
  } catch (e) {
    return { kind: 'error', message: `YAML error: ${(e as Error).message}` };
  }
  const problem = typeProblem(value, schema);
  if (problem) return { kind: 'error', message: problem };
  return { kind: 'value', value };
}

/** The form value for a text: `undefined` when empty, the placeholder when invalid. */
export function formValueOf(text: string, analysis: YamlAnalysis): JsonValue | undefined {
  switch (analysis.kind) {
    case 'empty':
      return undefined;
    case 'value':
      return analysis.value;
    default:
      return { [OSP_YAML_EDITOR_INVALID_TEXT]: text };
  }
}

/** The text shown for a form value (existing form data or the schema's default). */
export function textOf(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (isInvalidTextPlaceholder(value)) return value[OSP_YAML_EDITOR_INVALID_TEXT];
  if (
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.keys(value).length === 0
  ) {
    // An empty mapping starts as an empty editor, so one can type `key: value`.
    return '';
  }
  return stringify(value, { lineWidth: 0 });
}

/**
 * Why a form value is not acceptable for the schema, or `undefined`: the
 * placeholder of an invalid text (its YAML error), or a value whose JSON type
 * the schema's `type` does not allow.
 */
export function formValueProblem(value: unknown, schema?: SchemaLike): string | undefined {
  if (value === undefined) return undefined;
  if (isInvalidTextPlaceholder(value)) {
    const analysis = analyseYamlText(value[OSP_YAML_EDITOR_INVALID_TEXT], schema);
    return analysis.kind === 'error'
      ? analysis.message
      : 'The text of this field was not applied; edit it again';
  }
  let json: JsonValue;
  try {
    json = toJson(value, '', new Set());
  } catch (e) {
    return (e as Error).message;
  }
  return typeProblem(json, schema);
}

/** Structural equality of JSON-like values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return false;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bs = b as unknown[];
    return a.length === bs.length && a.every((x, i) => jsonEqual(x, bs[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter(k => ao[k] !== undefined);
  const bk = Object.keys(bo).filter(k => bo[k] !== undefined);
  return ak.length === bk.length && ak.every(k => jsonEqual(ao[k], bo[k]));
}

type JsonType = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';

function jsonTypeOf(value: JsonValue): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value as 'boolean' | 'string' | 'object';
}

const DESCRIPTION: Record<JsonType, string> = {
  object: 'a YAML mapping (key: value lines) or a JSON object',
  array: 'a YAML list or a JSON array',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  null: 'null',
};

const NOUN: Record<JsonType, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  integer: 'a number',
  number: 'a number',
  boolean: 'a boolean',
  null: 'null',
};

function typeProblem(value: JsonValue, schema?: SchemaLike): string | undefined {
  const declared = schema?.type;
  const types = (Array.isArray(declared) ? declared : [declared]).filter(
    (t): t is JsonType => typeof t === 'string' && t in DESCRIPTION,
  );
  if (types.length === 0) return undefined;
  const actual = jsonTypeOf(value);
  if (types.includes(actual) || (actual === 'integer' && types.includes('number'))) {
    return undefined;
  }
  const wanted = types.filter(t => t !== 'null').map(t => DESCRIPTION[t]);
  return `Must be ${(wanted.length ? wanted : ['null']).join(' or ')}, not ${NOUN[actual]}`;
}

// Checks that what yaml produced is plain JSON: no recursive aliases, no
// .inf/.nan, no binary or other non-JSON values.
function toJson(value: unknown, path: string, ancestors: Set<object>): JsonValue {
  const at = path ? ` at ${path}` : '';
  if (value === null) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new NotJson(`${value} is not a JSON number${at}`);
      return value;
    case 'object':
      break;
    default:
      throw new NotJson(`a ${typeof value} is not a JSON value${at}`);
  }
  const obj = value as object;
  if (ancestors.has(obj)) throw new NotJson(`recursive alias${at}`);
  ancestors.add(obj);
  try {
    if (Array.isArray(obj)) {
      return obj.map((item, i) => toJson(item, `${path}[${i}]`, ancestors));
    }
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      throw new NotJson(`${proto?.constructor?.name ?? 'this value'} is not a JSON value${at}`);
    }
    const out: { [key: string]: JsonValue } = {};
    for (const [k, v] of Object.entries(obj)) {
      if (v === undefined) continue;
      // defineProperty: a `__proto__` key stays a key.
      Object.defineProperty(out, k, {
        value: toJson(v, path ? `${path}.${k}` : k, ancestors),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  } finally {
    ancestors.delete(obj);
  }
}
