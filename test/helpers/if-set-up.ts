/**
 * A `let` that beforeAll (or a test) assigns is still undefined in afterAll when that setup failed early.
 * Its declared type says otherwise, so afterAll's `?.` would look needless: this says it is not.
 * `await ifSetUp(db)?.close()` closes what was opened and lets the setup's own error be the one reported.
 */
export function ifSetUp<T>(value: T): T | undefined {
  return value;
}
