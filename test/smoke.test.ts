import 'reflect-metadata';
import { FABRIC_KINDS } from '../src/kube/catalog.js';

test('catalog lists fourteen kinds', () => {
  expect(FABRIC_KINDS).toHaveLength(14);
});
