// Restores lockfile entries for deno's builds for other platforms. The registry reachable
// here answers 404 for them, so `npm install` leaves them out, and `npm ci` then refuses
// the lockfile ("Missing: @deno/darwin-arm64 from lock file"). Entries marked optional
// with their os/cpu are enough: npm ci never fetches a package for another platform.
import { readFileSync, writeFileSync } from 'node:fs';

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const deno = lock.packages['node_modules/deno'];
if (!deno) throw new Error('deno is not in package-lock.json');
const platforms = {
  'darwin-arm64': ['darwin', 'arm64'],
  'darwin-x64': ['darwin', 'x64'],
  'linux-arm64-glibc': ['linux', 'arm64', 'glibc'],
  'linux-x64-glibc': ['linux', 'x64', 'glibc'],
  'win32-arm64': ['win32', 'arm64'],
  'win32-x64': ['win32', 'x64'],
};
const entries = Object.entries(lock.packages);
let added = 0;
for (const [name, [os, cpu, libc]] of Object.entries(platforms)) {
  const key = `node_modules/@deno/${name}`;
  if (lock.packages[key]) continue;
  entries.push([key, { version: deno.version, cpu: [cpu], dev: true, ...(libc ? { libc: [libc] } : {}), optional: true, os: [os] }]);
  added++;
}
entries.sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0));
lock.packages = Object.fromEntries(entries);
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`);
console.log(`fix-lock: added ${added} entr${added === 1 ? 'y' : 'ies'}`);
