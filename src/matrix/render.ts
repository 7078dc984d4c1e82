// The matrix as a text table (rows = files, columns = kernels) with the model profile each kernel
// was judged against and one line per cell that is not a match, and as the `--json` document.

import type { z } from 'zod';
import type { matrixJson } from '../cli/json.js';
import { JSON_VERSION } from '../cli/json.js';
import { runnerArgs, type RunnerOptions } from '../runner/index.js';
import { kernelRunnerOptions } from '../findings/bisect.js';
import type { Profile } from '../model/index.js';
import { cellLabel, matrixExitCode, oldRows, summary, type KernelColumn, type MatrixResult } from './matrix.js';

type Base = Omit<RunnerOptions, 'kernel' | 'kernelImage'>;

export function replayCommand(file: string, kernel: string, base: Base): string {
  return `vmafuzz replay ${file}${runnerArgs(kernelRunnerOptions(kernel, base))}`;
}

function profileLine(p: Profile): string {
  const old = oldRows(p);
  const facts = [`thp=${p.thp}`, ...(p.softDirty ? ['soft_dirty'] : []), ...(p.execOnlyPkey ? ['pkeys'] : []), ...(p.overcommitNever ? ['overcommit=never'] : [])];
  return `model profile ${p.version.join('.')} (${facts.join(', ')}); pre-7.3 rows: ${old.length ? old.join(', ') : 'none'}`;
}

function kernelLine(k: KernelColumn): string {
  if (!k.target) return `cannot test: ${k.error ?? 'unknown reason'}`;
  const pkg = k.target.facts['kernel_package_version'];
  const accel = k.target.facts['accel'];
  const head = `${k.target.release}${pkg && pkg !== 'custom' ? ` (${pkg})` : ''}${accel ? `, ${accel}` : ''}, ${k.seconds.toFixed(1)} s`;
  if (!k.profile) return `${head}; cannot test: ${k.error ?? 'unknown reason'}`;
  const warn = k.profile.warnings.length ? `\n      warnings: ${k.profile.warnings.join('; ')}` : '';
  return `${head}\n      ${profileLine(k.profile)}${warn}`;
}

export function renderMatrix(r: MatrixResult, base: Base): string {
  const out: string[] = [];
  const fileW = Math.max(4, ...r.files.map((f) => f.length));
  const colW = r.kernels.map((k) => Math.max(k.kernel.length, 5, ...k.cells.map((c) => cellLabel(c).length)));
  const row = (first: string, cells: string[]) => [first.padEnd(fileW), ...cells.map((c, i) => c.padEnd(colW[i]!))].join('  ').trimEnd();
  out.push(row('file', r.kernels.map((k) => k.kernel)));
  r.files.forEach((f, i) => out.push(row(f, r.kernels.map((k) => cellLabel(k.cells[i]!)))));
  out.push('', 'kernels, and the model profile each was judged against:');
  for (const k of r.kernels) out.push(`  ${k.kernel}: ${kernelLine(k)}`);
  const notes: string[] = [];
  r.files.forEach((f, i) => {
    for (const k of r.kernels) {
      const c = k.cells[i]!;
      if (c.status === 'match' || c.status === 'untested') continue;
      const what =
        c.status === 'diverge'
          ? `${c.divergence!.layer} at call ${c.divergence!.call} (${c.divergence!.kind}), signature ${c.signature}: ${c.divergence!.detail}`
          : `${c.status}${c.detail ? `: ${c.detail}` : ''}`;
      notes.push(`  ${f} on ${k.kernel}: ${what}\n      replay: ${replayCommand(f, k.kernel, base)}`);
    }
  });
  if (notes.length) out.push('', 'cells that do not match:', ...notes);
  const s = summary(r);
  out.push('', `summary: ${s.match} match, ${s.diverge} diverge, ${s.crash} crash, ${s.timeout} timeout, ${s.infra} infra${s.untested ? `, ${s.untested} untested` : ''}`);
  return out.join('\n') + '\n';
}

export function matrixDocument(r: MatrixResult, base: Base, profile: string | null = null): z.input<typeof matrixJson> {
  return {
    vmafuzz: JSON_VERSION,
    command: 'matrix',
    runner: base.runner,
    profile,
    files: r.files,
    kernels: r.kernels.map((k) => ({
      kernel: k.kernel,
      status: k.target && k.profile ? ('tested' as const) : ('cannot-test' as const),
      ...(k.error ? { error: k.error } : {}),
      ...(k.target ? { target: { runner: k.target.runner, release: k.target.release, facts: k.target.facts } } : {}),
      ...(k.profile ? { profile: { release: k.profile.release, version: k.profile.version.join('.'), thp: k.profile.thp, preRows: oldRows(k.profile), warnings: k.profile.warnings } } : {}),
      seconds: k.seconds,
    })),
    rows: r.files.map((file, i) => ({
      file,
      cells: r.kernels.map((k) => {
        const c = k.cells[i]!;
        const d = c.divergence;
        return {
          kernel: k.kernel,
          status: c.status,
          label: cellLabel(c),
          ...(d ? { divergence: { call: d.call, layer: d.layer, kind: d.kind, detail: d.detail }, signature: c.signature!, signatureText: c.signatureText! } : {}),
          ...(c.detail ? { detail: c.detail } : {}),
          ...(c.status !== 'untested' ? { replay: replayCommand(file, k.kernel, base) } : {}),
        };
      }),
    })),
    summary: summary(r),
    exitCode: matrixExitCode(r),
  };
}
