import {
  OSP_YAML_EDITOR_INVALID_TEXT,
  analyseYamlText,
  formValueOf,
  formValueProblem,
  jsonEqual,
  textOf,
} from './yamlValue';

describe('yamlValue', () => {
  it('round-trips values through text', () => {
    const value = { a: 1, b: { c: ['x', 2, true, null] }, 'with space': 'v: w' };
    const text = textOf(value);
    const analysis = analyseYamlText(text, { type: 'object' });
    expect(analysis).toEqual({ kind: 'value', value });
    expect(formValueOf(text, analysis)).toEqual(value);
  });

  it('does not fold long strings', () => {
    const long = 'x '.repeat(100).trim();
    expect(textOf({ long })).toBe(`long: ${long}\n`);
  });

  it('shows the placeholder text and nothing for empty values', () => {
    expect(textOf({ [OSP_YAML_EDITOR_INVALID_TEXT]: 'a: [' })).toBe('a: [');
    expect(textOf(undefined)).toBe('');
    expect(textOf(null)).toBe('');
    expect(textOf({})).toBe('');
    expect(textOf([])).toBe('[]\n');
  });

  it('gives line and column of YAML errors', () => {
    expect(analyseYamlText('a:\n\t- x')).toEqual({
      kind: 'error',
      message: 'YAML error at line 2, column 1: Tabs are not allowed as indentation',
      line: 2,
      column: 1,
    });
    const json = analyseYamlText('{"a": 1,\n "b": }}');
    expect(json.kind).toBe('error');
  });

  it('keeps __proto__ as a plain key', () => {
    const analysis = analyseYamlText('__proto__: {polluted: true}');
    expect(analysis.kind).toBe('value');
    const value = (analysis as { value: Record<string, unknown> }).value;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('checks integer and number types', () => {
    expect(formValueProblem(1, { type: 'number' })).toBeUndefined();
    expect(formValueProblem(1.5, { type: 'integer' })).toBe('Must be an integer, not a number');
    expect(formValueProblem('x', { type: ['string', 'integer'] })).toBeUndefined();
  });

  it('compares JSON values structurally, ignoring undefined members', () => {
    expect(jsonEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(jsonEqual({ a: 1, u: undefined }, { a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 2 })).toBe(false);
    expect(jsonEqual([1], { 0: 1 })).toBe(false);
    expect(jsonEqual(undefined, null)).toBe(false);
  });
});
