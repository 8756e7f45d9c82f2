/**
 * A metadata-only list page (`PartialObjectMetadataList`) read straight from its bytes, keeping only what a re-sync
 * uses: the list's `resourceVersion` and `continue`, and each item's name, namespace, uid and resourceVersion.
 *
 * Why not JSON.parse: at 100,000 objects a no-op re-sync spent most of its time decoding the pages to text, parsing
 * them — labels, timestamps, managedFields and all — and collecting the garbage (docs/benchmarks.md, "Why the no-op
 * re-sync stays above 25 % at 100,000"). This scanner skips what it does not keep without building it, in about half
 * the time of JSON.parse alone and without the text. No library does this: the streaming JSON parsers on npm build
 * every value and are several times slower than JSON.parse.
 *
 * Exactness is the rule: the whole page is checked against JSON's grammar (RFC 8259, as JSON.parse checks it), and
 * every value kept is the one JSON.parse would give. Whatever the scanner does not handle exactly as JSON.parse —
 * invalid JSON, a key it reads written with escapes, a kept field that is not a string, an item or metadata that is
 * not an object, a page that is not a PartialObjectMetadataList — makes it return undefined, and the caller parses
 * the page as before, with the errors it always reported. So the scanner can only be faster, never different
 * (test/metadata-page-scan.test.ts checks it against JSON.parse on generated pages).
 */

/**
 * What JSON.parse of the page would give for the fields a re-sync reads: the list's metadata, and each item's
 * `metadata` (its other fields, and the metadata's other fields, are left out).
 */
export interface ScannedMetadataPage {
  kind: 'PartialObjectMetadataList';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string };
  /** Each item's `metadata`, in order. */
  itemMetadata: ScannedItemMetadata[];
}

export interface ScannedItemMetadata {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

const PARTIAL_LIST_KIND = 'PartialObjectMetadataList';
const META_API_VERSION = 'meta.k8s.io/v1';

/** Thrown inside the scan when the page is not one it reads exactly; never leaves this module. */
class NotScannable extends Error {}
const NOT_SCANNABLE = new NotScannable();

/**
 * The page's kept fields, or undefined when the bytes are not a PartialObjectMetadataList the scanner reads exactly
 * (then JSON.parse the page instead).
 */
export function scanMetadataListPage(bytes: Buffer): ScannedMetadataPage | undefined {
  try {
    return new PageScanner(bytes).page();
  } catch (err) {
    if (err instanceof NotScannable) return undefined;
    throw err;
  }
}

const CH = {
  quote: 0x22,
  backslash: 0x5c,
  comma: 0x2c,
  colon: 0x3a,
  openBrace: 0x7b,
  closeBrace: 0x7d,
  openBracket: 0x5b,
  closeBracket: 0x5d,
  minus: 0x2d,
  plus: 0x2b,
  dot: 0x2e,
  zero: 0x30,
  nine: 0x39,
  u: 0x75,
  t: 0x74,
  f: 0x66,
  n: 0x6e,
  e: 0x65,
  E: 0x45,
} as const;

/** JSON's four whitespace bytes. */
const IS_WHITESPACE = byteSet(' \t\n\r');
const IS_HEX = byteSet('0123456789abcdefABCDEF');
/** The characters JSON allows after a backslash, besides `u`. */
const IS_SHORT_ESCAPE = byteSet('"\\/bfnrt');

/** How a byte inside a string is handled. */
const enum StringByte {
  Plain = 0,
  Quote,
  Backslash,
  /** Below 0x20: JSON.parse refuses it unescaped. */
  Control,
  /** Part of a multi-byte UTF-8 character: kept strings holding one are decoded as JSON.parse would. */
  NonAscii,
}
const STRING_BYTE = (() => {
  const t = new Uint8Array(256);
  for (let b = 0; b < 0x20; b++) t[b] = StringByte.Control;
  for (let b = 0x80; b < 0x100; b++) t[b] = StringByte.NonAscii;
  t[CH.quote] = StringByte.Quote;
  t[CH.backslash] = StringByte.Backslash;
  return t;
})();

/**
 * Bytes as latin1 text. Buffer's own `latin1Slice` (on its prototype since Node 6, though not in its typings) skips
 * what `toString` does with its arguments, which cost more than the decoding: a page of 5,000 items makes 20,000 of
 * these strings.
 */
const latin1Slice = (Buffer.prototype as { latin1Slice?: (this: Buffer, start: number, end: number) => string })
  .latin1Slice;
const latin1Text: (b: Buffer, start: number, end: number) => string = latin1Slice
  ? (b, start, end) => latin1Slice.call(b, start, end)
  : (b, start, end) => b.toString('latin1', start, end);

function byteSet(chars: string): Uint8Array {
  const set = new Uint8Array(256);
  for (const c of chars) set[c.charCodeAt(0)] = 1;
  return set;
}

function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= CH.zero && b <= CH.nine;
}

class PageScanner {
  /** Where the scan is. Reading past the end gives `undefined` bytes, which no check accepts. */
  private pos = 0;
  /** The last string read: its bytes (without quotes) and whether they are ASCII without escapes. */
  private strStart = 0;
  private strEnd = 0;
  private strPlain = true;
  /** Closing bytes of the containers `skipValue` is inside. */
  private readonly closers: number[] = [];
  /** The last namespace read: items of a page mostly share one, so its string is made once. */
  private namespace: string | undefined;

  constructor(private readonly b: Buffer) {}

  page(): ScannedMetadataPage {
    let kind: string | undefined;
    let apiVersion: string | undefined;
    let metadata: ScannedMetadataPage['metadata'] = {};
    let itemMetadata: ScannedItemMetadata[] | undefined;
    for (let more = this.openObject(); more; more = this.nextMember()) {
      this.key();
      if (this.keyIs('kind')) {
        kind = this.stringValue();
        // A full list (the server ignored the Accept header): stop now rather than scan it for nothing.
        if (kind !== PARTIAL_LIST_KIND) throw NOT_SCANNABLE;
      } else if (this.keyIs('apiVersion')) apiVersion = this.stringValue();
      else if (this.keyIs('metadata')) metadata = this.listMetadata();
      else if (this.keyIs('items')) itemMetadata = this.items();
      else this.skipValue();
    }
    this.skipWhitespace();
    if (this.pos !== this.b.length) throw NOT_SCANNABLE; // trailing bytes: JSON.parse refuses the page
    if (kind !== PARTIAL_LIST_KIND || apiVersion !== META_API_VERSION || itemMetadata === undefined)
      throw NOT_SCANNABLE;
    return { kind, apiVersion, metadata, itemMetadata };
  }

  private listMetadata(): ScannedMetadataPage['metadata'] {
    const m: ScannedMetadataPage['metadata'] = {};
    for (let more = this.openObject(); more; more = this.nextMember()) {
      this.key();
      if (this.keyIs('resourceVersion')) m.resourceVersion = this.stringValue();
      else if (this.keyIs('continue')) m.continue = this.stringValue();
      else this.skipValue();
    }
    return m;
  }

  private items(): ScannedItemMetadata[] {
    const out: ScannedItemMetadata[] = [];
    this.expect(CH.openBracket);
    this.skipWhitespace();
    if (this.b[this.pos] === CH.closeBracket) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.item());
      this.skipWhitespace();
      const next = this.b[this.pos++];
      if (next === CH.comma) continue;
      if (next === CH.closeBracket) return out;
      throw NOT_SCANNABLE;
    }
  }

  /** One item's metadata; an item without one is not scanned (the caller's validation names that error). */
  private item(): ScannedItemMetadata {
    let metadata: ScannedItemMetadata | undefined;
    for (let more = this.openObject(); more; more = this.nextMember()) {
      this.key();
      if (this.keyIs('metadata')) metadata = this.itemMetadata();
      else this.skipValue();
    }
    if (metadata === undefined) throw NOT_SCANNABLE;
    return metadata;
  }

  private itemMetadata(): ScannedItemMetadata {
    const m: ScannedItemMetadata = {};
    for (let more = this.openObject(); more; more = this.nextMember()) {
      this.key();
      if (this.keyIs('name')) m.name = this.stringValue();
      else if (this.keyIs('namespace')) m.namespace = this.namespaceValue();
      else if (this.keyIs('uid')) m.uid = this.stringValue();
      else if (this.keyIs('resourceVersion')) m.resourceVersion = this.stringValue();
      else this.skipValue();
    }
    return m;
  }

  /**
   * Opens an object whose keys are read, member by member: true when it has a first member (then `key()` reads its
   * key, the caller its value, and `nextMember()` goes on). A repeated key is read again and the last wins, as in
   * JSON.parse.
   */
  private openObject(): boolean {
    this.expect(CH.openBrace);
    this.skipWhitespace();
    if (this.b[this.pos] !== CH.closeBrace) return true;
    this.pos++;
    return false;
  }

  /** After a member's value: true at a comma (another member follows), false at the object's end. */
  private nextMember(): boolean {
    this.skipWhitespace();
    const next = this.b[this.pos++];
    if (next === CH.comma) return true;
    if (next === CH.closeBrace) return false;
    throw NOT_SCANNABLE;
  }

  /**
   * A member's key and colon, leaving the position at its value. A key written with escapes or non-ASCII bytes
   * could spell a key that is read, so such a page is not scanned.
   */
  private key(): void {
    this.skipWhitespace();
    this.string();
    if (!this.strPlain) throw NOT_SCANNABLE;
    this.expect(CH.colon);
    this.skipWhitespace();
  }

  /** Whether the last string read is `key` (plain ASCII). */
  private keyIs(key: string): boolean {
    if (this.strEnd - this.strStart !== key.length) return false;
    for (let i = 0; i < key.length; i++) if (this.b[this.strStart + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  /** A kept field's value: a string, else the page is not scanned (the caller's validation reports it). */
  private stringValue(): string {
    if (this.b[this.pos] !== CH.quote) throw NOT_SCANNABLE;
    this.string();
    return this.strPlain
      ? latin1Text(this.b, this.strStart, this.strEnd) // ASCII: latin1 gives the same text, and faster
      : (JSON.parse(this.b.toString('utf8', this.strStart - 1, this.strEnd + 1)) as string);
  }

  /** A namespace: the previous item's string when the bytes are the same. */
  private namespaceValue(): string {
    const last = this.namespace;
    if (this.b[this.pos] === CH.quote && last !== undefined) {
      const start = this.pos + 1;
      let same = this.b[start + last.length] === CH.quote;
      for (let i = 0; same && i < last.length; i++) same = this.b[start + i] === last.charCodeAt(i);
      if (same) {
        this.pos = start + last.length + 1;
        return last;
      }
    }
    const value = this.stringValue();
    // Only a plain one is kept: its bytes are its characters, so the comparison above is exact.
    this.namespace = this.strPlain ? value : undefined;
    return value;
  }

  /** A string, its bounds kept in strStart/strEnd; escapes checked as JSON.parse checks them. */
  private string(): void {
    const b = this.b;
    let p = this.pos;
    if (b[p] !== CH.quote) throw NOT_SCANNABLE;
    p++;
    this.strStart = p;
    let plain = true;
    for (;;) {
      if (p >= b.length) throw NOT_SCANNABLE;
      const kind = STRING_BYTE[b[p]!];
      if (kind === StringByte.Plain) {
        p++;
      } else if (kind === StringByte.Quote) {
        break;
      } else if (kind === StringByte.NonAscii) {
        plain = false;
        p++;
      } else if (kind === StringByte.Backslash) {
        plain = false;
        const escaped = b[p + 1];
        if (escaped === CH.u) {
          if (!(IS_HEX[b[p + 2]!] && IS_HEX[b[p + 3]!] && IS_HEX[b[p + 4]!] && IS_HEX[b[p + 5]!])) throw NOT_SCANNABLE;
          p += 6;
        } else if (escaped !== undefined && IS_SHORT_ESCAPE[escaped]) {
          p += 2;
        } else throw NOT_SCANNABLE;
      } else throw NOT_SCANNABLE; // a control byte
    }
    this.strEnd = p;
    this.strPlain = plain;
    this.pos = p + 1;
  }

  /** Any value, checked but not built. Nested containers are tracked on a stack, so depth cannot overflow ours. */
  private skipValue(): void {
    const b = this.b;
    const closers = this.closers;
    const base = closers.length;
    for (;;) {
      this.skipWhitespace();
      const c = b[this.pos];
      if (c === CH.openBrace || c === CH.openBracket) {
        const close = c === CH.openBrace ? CH.closeBrace : CH.closeBracket;
        this.pos++;
        this.skipWhitespace();
        if (b[this.pos] === close) this.pos++;
        else {
          closers.push(close);
          if (close === CH.closeBrace) this.memberKey();
          continue; // the first element or member value
        }
      } else if (c === CH.quote) this.string();
      else if (c === CH.t) this.literal('true');
      else if (c === CH.f) this.literal('false');
      else if (c === CH.n) this.literal('null');
      else this.number();
      // A value ended: close what it ended, or go on to the next element or member.
      for (;;) {
        if (closers.length === base) return;
        this.skipWhitespace();
        const next = b[this.pos++];
        const close = closers[closers.length - 1];
        if (next === CH.comma) {
          if (close === CH.closeBrace) {
            this.skipWhitespace();
            this.memberKey();
          }
          break;
        }
        if (next !== close) throw NOT_SCANNABLE;
        closers.pop();
      }
    }
  }

  /** A member's key and its colon, inside a skipped object. */
  private memberKey(): void {
    this.string();
    this.expect(CH.colon);
  }

  private number(): void {
    const b = this.b;
    if (b[this.pos] === CH.minus) this.pos++;
    if (b[this.pos] === CH.zero) this.pos++;
    else this.digits();
    if (b[this.pos] === CH.dot) {
      this.pos++;
      this.digits();
    }
    if (b[this.pos] === CH.e || b[this.pos] === CH.E) {
      this.pos++;
      if (b[this.pos] === CH.plus || b[this.pos] === CH.minus) this.pos++;
      this.digits();
    }
  }

  /** One or more digits. */
  private digits(): void {
    const start = this.pos;
    while (isDigit(this.b[this.pos])) this.pos++;
    if (this.pos === start) throw NOT_SCANNABLE;
  }

  private literal(word: string): void {
    for (let i = 0; i < word.length; i++) if (this.b[this.pos + i] !== word.charCodeAt(i)) throw NOT_SCANNABLE;
    this.pos += word.length;
  }

  private expect(byte: number): void {
    this.skipWhitespace();
    if (this.b[this.pos] !== byte) throw NOT_SCANNABLE;
    this.pos++;
  }

  private skipWhitespace(): void {
    while (IS_WHITESPACE[this.b[this.pos]!]) this.pos++;
  }
}
