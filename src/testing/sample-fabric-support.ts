/**
 * Small pieces shared by the sample-fabric generator: the object shape, a seeded PRNG,
 * IPv4 arithmetic and name helpers. No I/O.
 */

/** The shape of a fabric object as the generator produces it (what a manifest or the API holds). */
export interface KubeObjectLike {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: Record<string, unknown>;
}

export const VPC_API = 'vpc.githedgehog.com/v1beta1';
export const WIRING_API = 'wiring.githedgehog.com/v1beta1';

/** Builds one object; labels/annotations are left out when not given, as users write them. */
export function obj(
  apiVersion: string,
  kind: string,
  name: string,
  namespace: string,
  spec: Record<string, unknown>,
): KubeObjectLike {
  return { apiVersion, kind, metadata: { name, namespace }, spec };
}

/**
 * mulberry32: a tiny, fast, seeded PRNG. Good enough for test data; the point is that the same
 * seed always gives the same fabric on every platform.
 */
export class Prng {
  private state: number;
  constructor(seed: number) {
    // Mix the seed so that 0, 1, 2 … give unrelated streams.
    this.state = Math.imul((seed | 0) ^ 0x9e3779b9, 0x85ebca6b) >>> 0 || 0x6d2b79f5;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

/** FNV-1a 32-bit hash of a string, salted; used where a value must follow from a name alone. */
export function hash32(s: string, salt = 0): number {
  let h = (0x811c9dc5 ^ salt) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Dotted-quad for a 32-bit unsigned integer. */
export function ipFromInt(n: number): string {
  const v = n >>> 0;
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** 32-bit unsigned integer for a dotted quad (no validation: inputs are our own). */
export function ipToInt(ip: string): number {
  const [a, b, c, d] = ip.split('.').map(Number) as [number, number, number, number];
  return (((a << 24) >>> 0) + (b << 16) + (c << 8) + d) >>> 0;
}

/** Parses "a.b.c.d/len" into network integer and prefix length. */
export function parseCidr(cidr: string): { network: number; bits: number; size: number } {
  const [ip, len] = cidr.split('/') as [string, string];
  const bits = Number(len);
  const size = 2 ** (32 - bits);
  const network = Math.floor(ipToInt(ip) / size) * size;
  return { network, bits, size };
}

/** Zero-padded decimal; width at least 2, like the names real wiring diagrams use (leaf-01). */
export function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** The digit width for numbering `count` items (at least 2). */
export function widthFor(count: number): number {
  return Math.max(2, String(Math.max(1, count)).length);
}

/** A locally administered-looking MAC built from an index (unique for index < 2^24). */
export function macFromIndex(prefix: string, index: number): string {
  const b = [(index >>> 16) & 255, (index >>> 8) & 255, index & 255].map((x) => x.toString(16).padStart(2, '0'));
  return `${prefix}:${b.join(':')}`;
}

/** DNS-1123 subdomain, as Kubernetes checks object names (253 characters at most). */
export { DNS1123_SUBDOMAIN } from '../common/k8s-names.js';
