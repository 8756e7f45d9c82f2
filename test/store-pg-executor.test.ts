/**
 * The store's statements are written once, for `query` (knex's raw syntax: `?` placeholders), and run either
 * through MikroORM's knex or on a plain pg client (src/store/pg-executor.ts). The pg executor's translation must
 * be knex's own: compared here on the shapes the store uses (casts, jsonb operators escaped as `\?`, literals).
 */
import { knex } from '@mikro-orm/postgresql';
import { pgPlaceholders } from '../src/store/pg-executor.js';
import { intArray } from '../src/store/sql.js';

const pgKnex = knex({ client: 'pg' });
afterAll(() => pgKnex.destroy());

/** What knex sends to PostgreSQL for `sql` with `params`. */
const knexText = (sql: string, params: unknown[]) =>
  pgKnex
    .raw(sql, params as never[])
    .toSQL()
    .toNative().sql;

test.each([
  ['no parameter', `SELECT regexp_replace(name, '\\.[jt]s$', '') AS name FROM "mikro_orm_migrations"`, []],
  ['one', 'SELECT * FROM hedgehog_fabric WHERE name = ?', ['lab']],
  ['casts', 'SELECT 1 WHERE id = ANY(?::int[]) AND kind = ANY(?::text[]) AND x = ?', [intArray([1, 2]), '{VPC}', 3]],
  [
    'jsonb ? operators, escaped',
    `SELECT doc \\?| ?::text[], doc \\?& ?::text[], doc \\? 'k' FROM t WHERE a = ?`,
    ['{a}', '{b}', 1],
  ],
  ['an escaped ? in a literal stays a ?', `SELECT '\\?' AS q, ? AS v`, [1]],
  [
    'ten and more',
    `SELECT ${Array.from({ length: 12 }, () => '?').join(', ')}`,
    Array.from({ length: 12 }, (_, i) => i),
  ],
])('%s: the same text as knex', (_name, sql, params) => {
  expect(pgPlaceholders(sql, params)).toBe(knexText(sql, params));
});

test('a statement whose placeholders and values disagree is refused, as knex refuses it', () => {
  expect(() => pgPlaceholders('SELECT ?, ?', [1])).toThrow('Expected 1 bindings, saw 2');
  expect(() => knexText('SELECT ?, ?', [1])).toThrow('Expected 1 bindings, saw 2');
  expect(() => pgPlaceholders('SELECT 1', [1])).toThrow('Expected 1 bindings, saw 0');
});

test('what the store never sends is refused, not guessed: identifier bindings and arrays', () => {
  expect(() => pgPlaceholders('SELECT ?? FROM t', ['id'])).toThrow(/identifier bindings/);
  expect(() => pgPlaceholders('SELECT 1 WHERE id = ANY(?)', [[1, 2]])).toThrow(/parameter 1 is an array/);
});
