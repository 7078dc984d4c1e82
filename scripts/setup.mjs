#!/usr/bin/env node
// Everything a fresh clone needs before it can run: dependencies, the TypeScript build and the
// JSON Schema for corpus files. Idempotent and quick when nothing changed, so `npm test`,
// `npm run bench` and ./vmafuzz call it every time. (The C harness is built on first use by the
// runner itself, which reports a missing compiler with exit code 125.)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const say = (s) => quiet || process.stderr.write(`setup: ${s}\n`);

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`setup: ${cmd} ${args.join(' ')} failed (exit ${r.status})\n`);
    process.exit(r.status ?? 1);
  }
}

if (!existsSync(join(root, 'node_modules/.bin/tsc')) || !existsSync(join(root, 'node_modules/.bin/vitest'))) {
  say('installing dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}
say('building TypeScript');
run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')]);

// JSON Schema for editors, regenerated from the zod schema so the two never drift.
const { sequenceJsonSchema } = await import(join(root, 'dist/seq/schema.js'));
const schemaFile = join(root, 'schema/sequence.schema.json');
const text = JSON.stringify(sequenceJsonSchema(), null, 2) + '\n';
if (!existsSync(schemaFile) || readFileSync(schemaFile, 'utf8') !== text) {
  mkdirSync(dirname(schemaFile), { recursive: true });
  writeFileSync(schemaFile, text);
  say('wrote schema/sequence.schema.json');
}
