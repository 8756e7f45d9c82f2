/**
 * How `hh-sync watch` writes its pino log lines: JSON lines (one object per line, for a collector) or, on a
 * terminal, one readable line per record — `12:00:01.250 INFO  watch started fabrics=["dc1"] lease=advisory`.
 *
 * A few dozen lines instead of pino-pretty: it would add 13 packages (dateformat, help-me, joycon, minimist, …) to
 * the install and to the cold start of the CLI for what is a field-by-field print; this is that print, made inert
 * for terminals (names and messages from the cluster or Git pass through safeLine).
 */
import type { Colors } from './cli-output.js';
import { safeLine } from './terminal-text.js';

export const LOG_FORMATS = ['auto', 'json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** `auto`: text on a terminal, JSON otherwise. */
export function resolveLogFormat(format: LogFormat, isTTY: boolean | undefined): 'json' | 'text' {
  return format === 'auto' ? (isTTY === true ? 'text' : 'json') : format;
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields pino adds to every record: shown in the line's head, or not at all. */
const HEAD_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name']);

function clock(time: unknown): string {
  const d = new Date(typeof time === 'number' ? time : Date.now());
  return d.toISOString().slice(11, 23);
}

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v); // v comes from JSON.parse: never undefined
}

/** One pino JSON line as a readable line (newline-terminated); a line that is not JSON passes through. */
export function textLogLine(jsonLine: string, c: Colors): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine.endsWith('\n') ? jsonLine : `${jsonLine}\n`;
  }
  const level = typeof rec.level === 'number' ? rec.level : 30;
  const name = (LEVELS[level] ?? String(level)).padEnd(5);
  const paint = level >= 50 ? c.red : level >= 40 ? c.yellow : level >= 30 ? c.cyan : c.dim;
  const fields = Object.entries(rec)
    .filter(([k]) => !HEAD_FIELDS.has(k))
    .map(([k, v]) => `${c.dim(`${safeLine(k)}=`)}${safeLine(value(v))}`);
  const msg = typeof rec.msg === 'string' ? safeLine(rec.msg) : '';
  // Text from the records is made inert before colours are added (safeLine would strip those too).
  return `${[c.dim(clock(rec.time)), paint(name), msg, ...fields].filter(Boolean).join(' ')}\n`;
}
