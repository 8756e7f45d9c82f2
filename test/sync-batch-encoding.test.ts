/** How a batch of rows is encoded for the bulk statements: shared scalars once, the rest per row (pure). */
import { encodeBatch } from '../src/store/sql.js';

const T1 = new Date('2026-11-26T10:00:00.000Z');
const COLUMNS = ['fabric_id', 'kind', 'name', 'labels', 'drift_score', 'actual_uid', 'last_updated', 'actual_updated'];
const TIMESTAMPS = ['last_updated', 'actual_updated'];

test('scalars equal in every row are sent once; objects, differing values and always-varying columns per row', () => {
  const rows = [
    {
      fabric_id: 7,
      kind: 'Switch',
      name: 'a',
      labels: {},
      drift_score: 1,
      actual_uid: null,
      last_updated: T1,
      actual_updated: new Date(T1),
    },
    {
      fabric_id: 7,
      kind: 'Switch',
      name: 'b',
      labels: {},
      drift_score: 0.5,
      actual_uid: undefined,
      last_updated: new Date(T1.getTime()),
      actual_updated: new Date('2026-01-01T00:00:00Z'),
    },
  ];
  const b = encodeBatch(rows, COLUMNS, TIMESTAMPS, ['name']);
  // Dates compare by time; null and undefined are both NULL.
  expect(b.constant).toEqual(['fabric_id', 'kind', 'actual_uid', 'last_updated']);
  expect(b.varying).toEqual(['name', 'labels', 'drift_score', 'actual_updated']);
  expect(JSON.parse(b.constantsJson)).toEqual({
    fabric_id: 7,
    kind: 'Switch',
    actual_uid: null,
    last_updated: '2026-11-26T10:00:00.000Z',
  });
  expect(JSON.parse(b.rowsJson)).toEqual([
    { name: 'a', labels: {}, drift_score: 1, actual_updated: '2026-11-26T10:00:00.000Z' },
    { name: 'b', labels: {}, drift_score: 0.5, actual_updated: '2026-01-01T00:00:00.000Z' },
  ]);
});

test('a single row: everything but the always-varying columns is constant', () => {
  const b = encodeBatch(
    [{ fabric_id: 1, kind: 'VPC', name: 'x', labels: { a: 'b' } }],
    ['fabric_id', 'kind', 'name', 'labels'],
    [],
    ['name'],
  );
  expect(b.constant).toEqual(['fabric_id', 'kind']);
  expect(b.varying).toEqual(['name', 'labels']);
  expect(JSON.parse(b.rowsJson)).toEqual([{ name: 'x', labels: { a: 'b' } }]);
});

test('a Date in one row and a string or null in another is not constant', () => {
  const rows = [
    { name: 'a', t: T1 },
    { name: 'b', t: null },
  ];
  expect(encodeBatch(rows, ['name', 't'], ['t'], ['name']).constant).toEqual([]);
  expect(
    encodeBatch(
      [
        { name: 'a', t: null },
        { name: 'b', t: T1 },
      ],
      ['name', 't'],
      ['t'],
      ['name'],
    ).constant,
  ).toEqual([]);
  expect(
    encodeBatch(
      [
        { name: 'a', k: '1' },
        { name: 'b', k: 1 },
      ],
      ['name', 'k'],
      [],
      ['name'],
    ).constant,
  ).toEqual([]);
});

test('no rows: nothing is constant and the rows are an empty array', () => {
  expect(encodeBatch([], ['fabric_id', 'name'], [], ['name'])).toEqual({
    constant: [],
    varying: ['fabric_id', 'name'],
    constantsJson: '{}',
    rowsJson: '[]',
  });
});
