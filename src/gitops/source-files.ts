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
