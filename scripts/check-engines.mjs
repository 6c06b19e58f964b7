// Lists the packages of package-lock.json whose `engines.node` the given Node version does not
// satisfy (default: the running one): `node scripts/check-engines.mjs [version]`. Exits 1 if any,
// the warnings `npm ci` would print on that Node.
import { readFileSync } from 'node:fs';
import semver from 'semver';

const version = process.argv[2] ?? process.versions.node;
const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8'));
const refused = Object.entries(lock.packages)
  .filter(([, p]) => p.engines?.node && !semver.satisfies(version, p.engines.node))
  .map(([path, p]) => `${path || '(this package)'}: node ${p.engines.node}`);
for (const line of refused) console.log(line);
console.log(`${refused.length} packages refuse Node ${version}`);
process.exitCode = refused.length > 0 ? 1 : 0;
