/**
 * What every desired-state source (Git commit, plain directory) shares: which files are
 * manifests, and how a sub-path and a file path are checked against the repository root.
 */
import path from 'node:path';
import { DesiredSourceError } from './source-error.js';

/** Default size limit of one manifest file. */
export const DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024;

/** `*.yaml` / `*.yml`: the files read as manifests. */
export function isManifestPath(p: string): boolean {
  return p.endsWith('.yaml') || p.endsWith('.yml');
}

/**
 * Normalise the configured sub-path to '' (the whole repository) or a relative '/'-separated
 * path without '.'/'..' segments; a path that leaves the repository makes the source unusable.
 */
export function normalizeSubPath(sub: string | undefined | null): string {
  if (sub === undefined || sub === null) return '';
  const raw = sub.replace(/\\/g, '/');
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) {
    throw new DesiredSourceError(`path '${sub}' must be relative to the repository root`);
  }
  const norm = path.posix.normalize(raw);
  if (norm === '..' || norm.startsWith('../')) {
    throw new DesiredSourceError(`path '${sub}' leaves the repository`);
  }
  if (norm.includes('\0')) throw new DesiredSourceError(`path '${sub}' contains a NUL character`);
  const trimmed = norm.replace(/\/+$/, '');
  return trimmed === '.' ? '' : trimmed;
}

/** True when `p` is the sub-path itself or lies under it. */
export function isUnder(p: string, sub: string): boolean {
  return sub === '' || p === sub || p.startsWith(`${sub}/`);
}

/**
 * A repository-relative path as a tree may hold it: refuse absolute paths and '.'/'..'/empty
 * segments, which would address something outside the repository.
 */
export function unsafePathReason(p: string): string | null {
  if (p.startsWith('/')) return 'absolute path';
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') return `path segment '${seg}' leaves the repository`;
  }
  return null;
}

/** Byte-wise order of '/'-separated paths (the order Git lists a tree in). */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A file path's bytes as text. A path that is not valid UTF-8 is never altered silently (a lossy
 * decode would store `bad\uFFFDname.yaml`, a file that does not exist): its invalid bytes are shown
 * escaped (`bad\xffname.yaml`) and `valid` is false, so the caller refuses the file by that name.
 */
export function decodePathBytes(bytes: Uint8Array): { path: string; valid: boolean } {
  try {
    return { path: strictUtf8.decode(bytes), valid: true };
  } catch {
    return { path: escapeInvalidUtf8(bytes), valid: false };
  }
}

function escapeInvalidUtf8(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    const seq = len ? bytes.subarray(i, i + len) : null;
    let text: string | null = null;
    try {
      if (seq && seq.length === len) text = strictUtf8.decode(seq);
    } catch {
      text = null;
    }
    if (text === null) {
      out += `\\x${b.toString(16).padStart(2, '0')}`;
      i++;
    } else {
      out += text;
      i += len;
    }
  }
  return out;
}

/** The reason a file whose name is not valid UTF-8 is refused. */
export const NON_UTF8_NAME_REASON =
  'refused: the file name is not valid UTF-8 (invalid bytes shown as \\xNN); rename the file';
