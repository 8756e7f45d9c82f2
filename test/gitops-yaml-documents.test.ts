import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { isScalar, LineCounter, parseAllDocuments } from 'yaml';
import { splitYamlDocuments, YamlDocument } from '../src/gitops/yaml-documents.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Values as JSON carries them (what is stored): -0 and 0 are the same number there. */
const asJson = (v: unknown): unknown => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

/** What `yaml` alone says about a stream: each non-empty document's content line and value. */
function viaYaml(text: string): { line: number; value: unknown }[] {
  const lines = new LineCounter();
  return parseAllDocuments(text, { lineCounter: lines, merge: true, logLevel: 'silent' })
    .filter((d) => d.contents !== null && !(isScalar(d.contents) && d.contents.value === null))
    .map((d) => ({ line: lines.linePos(d.contents!.range[0]).line, value: asJson(d.toJS()) }));
}

/** What the reader's split + js-yaml load says. */
function viaSplit(text: string): { line: number; value: unknown }[] {
  return splitYamlDocuments(text)
    .map((s) => new YamlDocument(s))
    .map((d) => ({ line: d.line, loaded: d.load() }))
    .filter((d) => d.loaded.ok && d.loaded.value !== null && d.loaded.value !== undefined)
    .map((d) => ({ line: d.line, value: asJson((d.loaded as { value: unknown }).value) }));
}

describe('splitYamlDocuments', () => {
  test('markers, comments, directives, document ends and inline content', () => {
    const text = [
      '# leading comment', // 1
      'a: 1', // 2
      '---', // 3
      '# comment inside', // 4
      'b: 2', // 5
      '...', // 6
      '%YAML 1.2', // 7
      '---', // 8
      'c: 3', // 9
      '--- |', // 10
      '  block text', // 11
      '--- # only a comment', // 12
      '---', // 13
      'd:', // 14
      '  - x', // 15
      '',
    ].join('\n');
    expect(splitYamlDocuments(text).map((s) => [s.startLine, s.contentLine])).toEqual([
      [1, 2],
      [3, 5],
      [7, 9],
      [10, 10],
      [12, null],
      [13, 14],
    ]);
    expect(viaSplit(text)).toEqual([
      { line: 2, value: { a: 1 } },
      { line: 5, value: { b: 2 } },
      { line: 9, value: { c: 3 } },
      { line: 10, value: 'block text\n' },
      { line: 14, value: { d: ['x'] } },
    ]);
    expect(viaSplit(text)).toEqual(viaYaml(text));
  });

  test('a `---` at column 0 ends a block scalar; an indented one does not; CRLF line ends', () => {
    const text = 'a: |\n  ---\n  text\nb: 1\n---\nc: 2\r\n---\r\nd: 3\r\n';
    expect(viaSplit(text)).toEqual([
      { line: 1, value: { a: '---\ntext\n', b: 1 } },
      { line: 6, value: { c: 2 } },
      { line: 8, value: { d: 3 } },
    ]);
    expect(viaSplit(text)).toEqual(viaYaml(text));
  });

  test('a broken document is reported with yaml’s message and line; its neighbours load', () => {
    const text = 'a: 1\n---\nb: [1, 2\nc: 3\n---\nd: 4\n';
    const docs = splitYamlDocuments(text).map((s) => new YamlDocument(s));
    expect(docs.map((d) => d.load())).toEqual([
      { ok: true, value: { a: 1 } },
      {
        ok: false,
        line: expect.any(Number),
        reason: expect.stringMatching(/^invalid YAML: .*\(line \d+, column \d+\)$/),
      },
      { ok: true, value: { d: 4 } },
    ]);
  });
});

describe('the two parsers agree: values from js-yaml equal what yaml reads, lines equal yaml’s', () => {
  const files: string[] = [];
  const collect = (dir: string) => {
    for (const ent of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, ent.name);
      if (ent.isDirectory()) collect(p);
      else if (/\.ya?ml$/.test(ent.name)) files.push(p);
    }
  };
  collect(path.join(here, 'fixtures', 'manifests', 'repo'));
  const corpus = path.resolve(here, '..', '../shared/hedgehog-docs-manifests');
  // The docs corpus adds real-world variety when ../shared is there; one of its files is broken on purpose.
  if (existsSync(corpus))
    for (const f of readdirSync(corpus))
      if (f.endsWith('.yaml') && f !== 'user-guide__devices__02.yaml') files.push(path.join(corpus, f));

  test.each(files.map((f) => [path.basename(f), f]))('%s', (_name, file) => {
    const text = readFileSync(file, 'utf8');
    expect(viaSplit(text)).toEqual(viaYaml(text));
  });

  test('property: generated manifests with scalars of every core type, quoting and block scalars', () => {
    const key = fc.stringMatching(/^[a-z][a-zA-Z0-9-]{0,8}$/);
    // The two known differences are left out: out-of-range exponents (1e999: yaml reads Infinity,
    // js-yaml a string, as go-yaml does) and 0b binary integers (js-yaml reads a number, yaml a string).
    const inRange = (x: string) => !/\d[eE][-+]?\d{3}/.test(x) && !/^[-+]?0b/.test(x);
    const word = fc.stringMatching(/^[a-z0-9]{1,5}$/).filter(inRange);
    const plain = fc.oneof(
      fc.constantFrom(
        'true',
        'false',
        'True',
        'null',
        '~',
        'yes',
        'no',
        'on',
        '0o17',
        '017',
        '0x1F',
        '1e3',
        '.5',
        '-.inf',
        '.nan',
        '1_000',
        '12:30',
        '2025-01-01',
        '+12',
        '0',
        '-0',
        '3.0',
        'E1/1',
        '0c:20:12:ff:00:00',
        '10.0.0.0/16',
      ),
      fc.integer().map(String),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
      fc.stringMatching(/^[a-z0-9](?:[a-z0-9./:-]{0,11}[a-z0-9./-])?$/).filter(inRange),
      fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)),
      fc.stringMatching(/^[a-z ]{0,10}$/).map((s) => `'${s}''s'`),
      fc.array(word, { maxLength: 3 }).map((xs) => `[${xs.join(', ')}]`),
      word.map((x) => `{x: ${x}, y: [${x}]}`),
    );
    // A value: a flow/plain/quoted scalar on the key's line, or a block scalar on the lines below it.
    type Value = string | { style: string; lines: string[] };
    const value: fc.Arbitrary<Value> = fc.oneof(
      { weight: 4, arbitrary: plain },
      {
        weight: 1,
        arbitrary: fc.record({
          style: fc.constantFrom('|', '|-', '|+', '>', '>-'),
          lines: fc.array(fc.stringMatching(/^[a-z0-9 #:-]{0,12}$/), { minLength: 1, maxLength: 3 }),
        }),
      },
    );
    const render = (v: Value, indent: number) =>
      typeof v === 'string'
        ? ` ${v}\n`
        : ` ${v.style}\n${v.lines.map((l) => `${' '.repeat(indent + 2)}x${l}\n`).join('')}`;
    const mapping = fc.dictionary(key, value, { maxKeys: 6 });
    const doc = fc.record({ spec: mapping, nested: mapping, list: fc.array(plain, { maxLength: 4 }) });
    fc.assert(
      fc.property(fc.array(doc, { minLength: 1, maxLength: 4 }), fc.boolean(), (docs, comments) => {
        const text = docs
          .map((d, i) => {
            const spec = Object.entries(d.spec)
              .map(([k, v]) => `  ${k}:${render(v, 2)}`)
              .join('');
            const nested = Object.entries(d.nested)
              .map(([k, v]) => `    ${k}:${render(v, 4)}`)
              .join('');
            const list = d.list.map((v) => `  - ${v}\n`).join('');
            return (
              `${comments ? `# document ${i}\n` : ''}kind: X\n` +
              `spec:\n${spec}  inner:${nested ? `\n${nested}` : ' {}\n'}` +
              `list:${list ? `\n${list}` : ' []\n'}`
            );
          })
          .join(comments ? '--- # next\n' : '---\n');
        const split = viaSplit(text);
        expect(split).toHaveLength(docs.length);
        expect(split).toEqual(viaYaml(text));
      }),
      { numRuns: 300 },
    );
  });
});
