#!/usr/bin/env node
// Model-only throughput: predict() over generated sequences of the default call mix (and the core
// calls), no kernel, no I/O. Prints calls/s of the model, and generation and comparison costs.
// Needs the TypeScript build (`npm run build`).
//   node scripts/model-throughput.mjs [count] [rounds]      (pin it: taskset -c 0 ...)
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { modelThroughput } = await import(join(root, 'dist/bench/model.js'));
const count = Number(process.argv[2] ?? 4000);
const rounds = Number(process.argv[3] ?? 3);
for (const r of modelThroughput(count, rounds)) console.log(r.join(': '));
