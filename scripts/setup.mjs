#!/usr/bin/env node
// Everything a fresh clone needs before it can run: dependencies, the TypeScript build and the
// JSON Schema for corpus files. Idempotent and quick when nothing changed, so `npm test`,
// `npm run bench` and ./vmafuzz call it every time. (The C harness is built on first use by the
// runner itself, which reports a missing compiler with exit code 125.)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const say = (s) => quiet || process.stderr.write(`setup: ${s}\n`);

async function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit' });
  if (r.status !== 0) {
    // wait until the message is out: process.exit() drops what a pipe has not taken yet
    await new Promise((res) => process.stderr.write(`setup: ${cmd} ${args.join(' ')} failed (exit ${r.status})\n`, res));
    process.exit(r.status ?? 1);
  }
}

if (!existsSync(join(root, 'node_modules/.bin/tsc')) || !existsSync(join(root, 'node_modules/.bin/vitest'))) {
  say('installing dependencies (npm ci)');
  await run('npm', ['ci', '--no-audit', '--no-fund']);
}
// Build only when an input changed: tsc takes 15-25 s on a loaded machine, and ./vmafuzz (also
// under `git bisect run`) calls this every time. dist/.build-stamp's mtime is the start of the last
// good build; any input newer than it (src/** files and directories, so a deletion counts too,
// tsconfig.json, package*.json, this script; a checkout gives changed files the current time)
// means build again. ./vmafuzz makes the same test with find(1) to skip even this script.
// VMAFUZZ_REBUILD=1 builds regardless.
const stampFile = join(root, 'dist/.build-stamp');
const INPUTS = ['src', 'tsconfig.json', 'package-lock.json', 'package.json', 'scripts/setup.mjs'];
const buildStart = new Date();
if (existsSync(join(root, 'dist/cli/main.js')) && !process.env.VMAFUZZ_REBUILD) {
  const since = existsSync(stampFile) ? statSync(stampFile).mtimeMs : -1;
  if (since >= 0 && newestInput() <= since) process.exit(0);
}
say('building TypeScript');
await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')]);

// JSON Schema for editors, regenerated from the zod schema so the two never drift.
const { sequenceJsonSchema } = await import(join(root, 'dist/seq/schema.js'));
const schemaFile = join(root, 'schema/sequence.schema.json');
const text = JSON.stringify(sequenceJsonSchema(), null, 2) + '\n';
if (!existsSync(schemaFile) || readFileSync(schemaFile, 'utf8') !== text) {
  mkdirSync(dirname(schemaFile), { recursive: true });
  writeFileSync(schemaFile, text);
  say('wrote schema/sequence.schema.json');
}
writeFileSync(stampFile, 'inputs older than this file\'s mtime are built (scripts/setup.mjs)\n');
utimesSync(stampFile, buildStart, buildStart);

function newestInput() {
  let newest = 0;
  const visit = (p) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return;
    }
    newest = Math.max(newest, st.mtimeMs);
    if (st.isDirectory()) for (const e of readdirSync(p)) visit(join(p, e));
  };
  for (const p of INPUTS) visit(join(root, p));
  return newest;
}
