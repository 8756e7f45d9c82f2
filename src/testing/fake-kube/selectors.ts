/**
 * Label and field selectors with the grammar of k8s.io/apimachinery (labels.Parse, fields.ParseSelector).
 * Label selectors: `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k>1`, `k<1`, comma-joined (AND).
 * Field selectors of custom resources: only `metadata.name` and `metadata.namespace`, with `=`, `==`, `!=`.
 * A selector that does not parse is a 400 BadRequest, as on the real server.
 */
import {
  DNS1123_SUBDOMAIN,
  DNS1123_SUBDOMAIN_MAX,
  QUALIFIED_NAME,
  QUALIFIED_NAME_MAX,
} from '../../common/k8s-names.js';
import { badRequest } from './status.js';

/** What a selector looks at: the object's labels, name and namespace. */
export interface Selectable {
  readonly labels: Readonly<Record<string, string>>;
  readonly name: string;
  readonly namespace: string;
}

export type Selector = (o: Selectable) => boolean;

const MATCH_ALL: Selector = () => true;

type Op = 'exists' | '!' | '=' | '!=' | 'in' | 'notin' | '<' | '>';
interface Requirement {
  key: string;
  op: Op;
  values: string[];
}

// ---- label selector lexer/parser -------------------------------------------------------------

type Tok = { t: 'id'; v: string } | { t: 'sym'; v: string } | { t: 'eos' };
const SYMBOLS = ['!=', '==', '=', '!', '(', ')', ',', '<', '>'];
const SPECIAL = new Set(['!', '=', '(', ')', ',', '<', '>']);

function lex(input: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const sym = SYMBOLS.find((s) => input.startsWith(s, i));
    if (sym) {
      out.push({ t: 'sym', v: sym });
      i += sym.length;
      continue;
    }
    let j = i;
    while (j < input.length && !SPECIAL.has(input[j]!) && !/\s/.test(input[j]!)) j++;
    out.push({ t: 'id', v: input.slice(i, j) });
    i = j;
  }
  out.push({ t: 'eos' });
  return out;
}

function checkKey(key: string, selector: string): void {
  const slash = key.indexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const ok =
    name.length > 0 &&
    name.length <= QUALIFIED_NAME_MAX &&
    QUALIFIED_NAME.test(name) &&
    (prefix === undefined ||
      (prefix.length > 0 && prefix.length <= DNS1123_SUBDOMAIN_MAX && DNS1123_SUBDOMAIN.test(prefix)));
  if (!ok) {
    throw badRequest(
      `unable to parse requirement: <nil>: Invalid value: "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (in label selector "${selector}")`,
    );
  }
}

function checkValue(value: string, selector: string): void {
  if (value === '') return;
  if (value.length > QUALIFIED_NAME_MAX || !QUALIFIED_NAME.test(value)) {
    throw badRequest(
      `unable to parse requirement: values[0][${value}]: Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (in label selector "${selector}")`,
    );
  }
}

function describe(tok: Tok): string {
  return tok.t === 'eos' ? 'end of string' : tok.v;
}

/** Parses a label selector; the empty string selects everything. */
export function parseLabelSelector(input: string | undefined): Selector {
  if (input === undefined || input.trim() === '') return MATCH_ALL;
  const toks = lex(input);
  let p = 0;
  const fail = (msg: string): never => {
    throw badRequest(`unable to parse requirement: ${msg} (in label selector "${input}")`);
  };
  const reqs: Requirement[] = [];
  for (;;) {
    const tok = toks[p]!;
    if (tok.t === 'sym' && tok.v === '!') {
      p++;
      const k = toks[p++]!;
      if (k.t !== 'id') fail(`found '${describe(k)}', expected: identifier after '!'`);
      checkKey((k as { v: string }).v, input);
      reqs.push({ key: (k as { v: string }).v, op: '!', values: [] });
    } else if (tok.t === 'id') {
      p++;
      const key = tok.v;
      checkKey(key, input);
      const opTok = toks[p]!;
      if (opTok.t === 'eos' || (opTok.t === 'sym' && opTok.v === ',')) {
        reqs.push({ key, op: 'exists', values: [] });
      } else if (opTok.t === 'id' && (opTok.v === 'in' || opTok.v === 'notin')) {
        p++;
        const open = toks[p++]!;
        if (!(open.t === 'sym' && open.v === '(')) fail(`found '${describe(open)}', expected: '('`);
        const values: string[] = [];
        for (;;) {
          const v = toks[p]!;
          if (v.t === 'id') {
            checkValue(v.v, input);
            values.push(v.v);
            p++;
          } else if (v.t === 'sym' && v.v === ')') {
            p++;
            break;
          } else if (v.t === 'sym' && v.v === ',') {
            p++;
          } else {
            fail(`found '${describe(v)}', expected: ',', ')' or identifier`);
          }
        }
        if (values.length === 0) fail(`for 'in', 'notin' operators, values set can't be empty`);
        reqs.push({ key, op: opTok.v, values });
      } else if (opTok.t === 'sym' && ['=', '==', '!=', '<', '>'].includes(opTok.v)) {
        p++;
        const v = toks[p]!;
        let value = '';
        if (v.t === 'id') {
          value = v.v;
          p++;
        } else if (!(v.t === 'eos' || v.v === ',')) {
          fail(`found '${describe(v)}', expected: identifier`);
        }
        const op: Op = opTok.v === '==' ? '=' : (opTok.v as Op);
        if (op === '<' || op === '>') {
          if (!/^-?\d+$/.test(value)) fail(`for 'Gt', 'Lt' operators, the value must be an integer`);
        } else {
          checkValue(value, input);
        }
        reqs.push({ key, op, values: [value] });
      } else {
        fail(`found '${describe(opTok)}', expected: in, notin, =, ==, !=, gt, lt`);
      }
    } else {
      fail(`found '${describe(tok)}', expected: !, identifier, or 'end of string'`);
    }
    const next = toks[p]!;
    if (next.t === 'eos') break;
    if (next.t === 'sym' && next.v === ',') {
      p++;
      continue;
    }
    fail(`found '${describe(next)}', expected: ',' or 'end of string'`);
  }
  return (o) => reqs.every((r) => matches(r, o.labels));
}

function matches(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels[r.key]! : undefined;
  switch (r.op) {
    case 'exists':
      return has;
    case '!':
      return !has;
    case '=':
    case 'in':
      return has && r.values.includes(v!);
    case '!=':
    case 'notin':
      return !has || !r.values.includes(v!);
    case '<':
    case '>': {
      if (!has || !/^-?\d+$/.test(v!)) return false;
      const n = Number(v);
      const bound = Number(r.values[0]);
      return r.op === '<' ? n < bound : n > bound;
    }
  }
}

// ---- field selector -------------------------------------------------------------------------

/** Splits on `sep` not preceded by a backslash escape. */
function splitUnescaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1]!;
      i++;
    } else if (c === sep) {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out;
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}

/** Parses a field selector over metadata.name / metadata.namespace; the empty string selects everything. */
export function parseFieldSelector(input: string | undefined): Selector {
  if (input === undefined || input.trim() === '') return MATCH_ALL;
  const terms: { field: string; neg: boolean; value: string }[] = [];
  for (const raw of splitUnescaped(input, ',')) {
    const term = raw.trim();
    if (term === '') continue;
    // Find the first unescaped operator: != before == before =.
    let opAt = -1;
    let opLen = 0;
    let neg = false;
    for (let i = 0; i < term.length; i++) {
      if (term[i] === '\\') {
        i++;
        continue;
      }
      if (term.startsWith('!=', i)) {
        [opAt, opLen, neg] = [i, 2, true];
        break;
      }
      if (term.startsWith('==', i)) {
        [opAt, opLen] = [i, 2];
        break;
      }
      if (term[i] === '=') {
        [opAt, opLen] = [i, 1];
        break;
      }
    }
    if (opAt < 0) throw badRequest(`invalid selector: '${input}'; can't understand '${term}'`);
    const field = term.slice(0, opAt).trim();
    const value = unescape(term.slice(opAt + opLen));
    if (field !== 'metadata.name' && field !== 'metadata.namespace') {
      throw badRequest(`"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
    }
    terms.push({ field, neg, value });
  }
  if (terms.length === 0) return MATCH_ALL;
  return (o) =>
    terms.every((t) => {
      const actual = t.field === 'metadata.name' ? o.name : o.namespace;
      return t.neg ? actual !== t.value : actual === t.value;
    });
}

/** Both selectors at once. */
export function parseSelectors(
  labelSelector: string | undefined,
  fieldSelector: string | undefined,
): {
  select: Selector;
  /** True when either selector can reject objects (the real server omits remainingItemCount then). */
  filtered: boolean;
} {
  const l = parseLabelSelector(labelSelector);
  const f = parseFieldSelector(fieldSelector);
  const filtered = l !== MATCH_ALL || f !== MATCH_ALL;
  return { select: filtered ? (o) => l(o) && f(o) : MATCH_ALL, filtered };
}
