/**
 * src/json-safety.ts, the one check both sources use for strings PostgreSQL refuses (NUL, lone UTF-16 surrogates):
 * the dotted-path form (cluster side), the JSON-pointer form (Git side), the JSON-text pre-check and the escaping
 * of error texts. The sources' own refusals are tested in kube-json-safety and gitops-real-manifests.
 */
import {
  escapeUnstorable,
  findUnstorablePointer,
  findUnstorableString,
  hasSuspectEscape,
  unstorableProblem,
} from '../src/json-safety.js';

describe('findUnstorableString (dotted paths)', () => {
  test('clean data, proper surrogate pairs (emoji) and escaped backslashes pass', () => {
    expect(findUnstorableString({ a: ['x', 1, null, true, { '😀': 'ok 😀' }], b: '\\u0000 is text' })).toBeNull();
    expect(findUnstorableString({ a: 'emoji 😀', 'b/c~': ['é', 1, null, true] })).toBeNull();
  });

  test.each([
    ['NUL in a value', { spec: { ports: [{ name: 'E1\u0000' }] } }, 'spec.ports[0].name', 'NUL'],
    ['NUL in a key', { spec: { 'a\u0000b': 1 } }, 'spec["a\\u0000b"] (a key)', 'NUL'],
    ['lone high surrogate', { status: { x: 'ab\ud800' } }, 'status.x', 'lone UTF-16 surrogate (\\ud800)'],
    [
      'lone low surrogate in a key',
      { labels: { '\udc00': 'v' } },
      'labels["\\udc00"] (a key)',
      'lone UTF-16 surrogate (\\udc00)',
    ],
    ['reversed pair', { a: ['\udc00\ud800'] }, 'a[0]', 'lone UTF-16 surrogate'],
    ['a key under an array at the root', [{ 'k\u0000': 1 }], '[0]["k\\u0000"] (a key)', 'NUL'],
    ['a lone string', 'x\u0000', '(value)', 'NUL'],
  ])('%s', (_label, value, path, problem) => {
    const found = findUnstorableString(value);
    expect(found?.path).toBe(path);
    expect(found?.problem).toContain(problem);
  });

  test('paths start at the given root; a digit-named key of an object is a property, not an index', () => {
    expect(findUnstorableString({ ports: [{ '0': 'x\u0000' }] }, 'spec')?.path).toBe('spec.ports[0]["0"]');
    expect(findUnstorableString('u\udfff', 'metadata.uid')?.path).toBe('metadata.uid');
  });
});

describe('findUnstorablePointer (JSON pointers, for the Git side)', () => {
  test('finds NUL and lone surrogates in keys and values, with their JSON pointer; accepts paired surrogates', () => {
    expect(findUnstorablePointer({ a: ['ok', 'x\u0000y'] })).toEqual({
      segments: ['a', '1'],
      path: '/a/1',
      problem: expect.stringMatching(/NUL/),
    });
    expect(findUnstorablePointer({ spec: { 'k\ud800': 1 } })).toEqual({
      segments: ['spec', 'k\ud800'],
      path: '/spec/k\\ud800',
      problem: expect.stringMatching(/^key .*surrogate \(\\ud800\)/),
    });
    expect(findUnstorablePointer({ a: 'lone low \udc00' })?.problem).toMatch(/\\udc00/);
    expect(findUnstorablePointer({ 'a/b~': 'x\u0000' })?.path).toBe('/a~1b~0');
    expect(findUnstorablePointer({ a: 'emoji 😀', 'b/c~': ['é', 1, null, true] })).toBeNull();
  });
});

describe('the pieces', () => {
  test('hasSuspectEscape rules out clean JSON and flags NUL / lone surrogates in JSON.stringify output', () => {
    expect(hasSuspectEscape(JSON.stringify({ a: 'x 😀' }))).toBe(false);
    expect(hasSuspectEscape(JSON.stringify({ a: 'x\u0000' }))).toBe(true);
    expect(hasSuspectEscape(JSON.stringify({ a: '\ud9ff' }))).toBe(true);
  });

  test('unstorableProblem names the character and its offset', () => {
    expect(unstorableProblem('ab\u0000')).toBe(
      'contains a NUL character (\\u0000) at offset 2, which PostgreSQL cannot store',
    );
    expect(unstorableProblem('😀\udc00')).toMatch(/lone UTF-16 surrogate \(\\udc00\) at offset 2/);
    expect(unstorableProblem('😀')).toBeNull();
  });

  test('escapeUnstorable writes only the unstorable characters as escapes; the result is storable', () => {
    expect(escapeUnstorable('a\u0000b\ud800')).toBe('a\\u0000b\\ud800');
    expect(escapeUnstorable('"😀" \\ \udc00')).toBe('"😀" \\ \\udc00');
    expect(escapeUnstorable('plain')).toBe('plain');
    expect(unstorableProblem(escapeUnstorable('\udc00\ud800\u0000'))).toBeNull();
  });
});
