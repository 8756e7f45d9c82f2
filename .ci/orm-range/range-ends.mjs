// stdin: the `npm view <pkg>@<range> version --json` outputs of several packages, one after another.
// stdout: the oldest and the newest version every one of them has, one a line.
import { readFileSync } from 'node:fs';

const input = readFileSync(0, 'utf8');
const lists = [];
// Each output is a JSON array (or a bare string for a single version); read them one by one.
for (const m of input.matchAll(/\[[^\]]*\]|"[^"]*"/g)) lists.push([].concat(JSON.parse(m[0])));
const common = lists.reduce((acc, l) => acc.filter((v) => l.includes(v)));
const key = (v) => v.split('.').map(Number);
common.sort((a, b) => {
  const [x, y] = [key(a), key(b)];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
});
if (common.length === 0) throw new Error('no release of the range is available for every @mikro-orm package');
console.log(common[0]);
console.log(common[common.length - 1]);
