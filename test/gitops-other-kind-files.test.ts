/** Documents of other kinds are all counted, but only the first files per kind are listed (they go into every run record). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MAX_OTHER_KIND_FILES, readDesiredState } from '../src/gitops/desired-state-reader.js';

test('a repository of many ConfigMaps: every one counted, the file list capped', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hh-other-kinds-'));
  try {
    const n = MAX_OTHER_KIND_FILES + 7;
    for (let i = 0; i < n; i++)
      writeFileSync(
        path.join(dir, `cm-${String(i).padStart(3, '0')}.yaml`),
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${i}\n`,
      );
    const r = await readDesiredState({ repository: dir });
    expect(r.otherKinds).toEqual({ 'v1/ConfigMap': n });
    expect(r.otherKindFiles['v1/ConfigMap']).toHaveLength(MAX_OTHER_KIND_FILES);
    expect(r.otherKindFiles['v1/ConfigMap']![0]).toBe('cm-000.yaml');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
