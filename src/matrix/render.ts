// The matrix as a text table (rows = files, columns = kernels) with the model profile each kernel
// was judged against and one line per cell that is not a match, and as the `--json` document.
// Columns carry short labels (a bzImage path would make 100-character headers): the kernel as given
// when it is short, else the release the booted kernel reported, else the file's name, with a
// legend; divergences that pin a known kernel bug are tagged [k1], [k2], ... with a legend.

import type { z } from 'zod';
import type { matrixJson } from '../cli/json.js';
import { JSON_VERSION } from '../cli/json.js';
import { runnerArgs, type RunnerOptions } from '../runner/index.js';
import { kernelRunnerOptions } from '../findings/bisect.js';
import { knownText, type KnownLabel } from '../findings/known.js';
import { basename } from 'node:path';
import type { Profile } from '../model/index.js';
import { cellLabel, matrixExitCode, oldRows, summary, type Cell, type KernelColumn, type MatrixResult } from './matrix.js';

type Base = Omit<RunnerOptions, 'kernel' | 'kernelImage'>;

export function replayCommand(file: string, kernel: string, base: Base): string {
  return `vmafuzz replay ${file}${runnerArgs(kernelRunnerOptions(kernel, base))}`;
}

const LABEL_MAX = 28; // a Debian release ("6.12.117+deb13-cloud-amd64") fits whole
const shorten = (s: string) => (s.length <= LABEL_MAX ? s : `${s.slice(0, LABEL_MAX - 2)}..`);

/** One short, unique label per column. */
export function columnLabels(kernels: readonly KernelColumn[]): string[] {
  const seen = new Map<string, number>();
  return kernels.map((k) => {
    const given = k.kernel.length <= LABEL_MAX && !k.kernel.includes('/') ? k.kernel : null;
    let l = given ?? shorten(k.target?.release ?? basename(k.kernel));
    const n = (seen.get(l) ?? 0) + 1;
    seen.set(l, n);
    if (n > 1) l = `${l}#${n}`;
    return l;
  });
}

/** The known bugs the cells pin, numbered in order of first appearance (k1, k2, ...), by regression file. */
function knownTags(r: MatrixResult): Map<string, { tag: string; label: KnownLabel }> {
  const tags = new Map<string, { tag: string; label: KnownLabel }>();
  r.files.forEach((_, i) => {
    for (const k of r.kernels) {
      const kn = k.cells[i]!.known;
      if (kn && !tags.has(kn.file)) tags.set(kn.file, { tag: `k${tags.size + 1}`, label: kn });
    }
  });
  return tags;
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
  const labels = columnLabels(r.kernels);
  const tags = knownTags(r);
  const cellText = (c: Cell) => `${cellLabel(c)}${c.known ? ` [${tags.get(c.known.file)!.tag}]` : ''}`;
  const fileW = Math.max(4, ...r.files.map((f) => f.length));
  const colW = r.kernels.map((k, i) => Math.max(labels[i]!.length, 5, ...k.cells.map((c) => cellText(c).length)));
  const row = (first: string, cells: string[]) => [first.padEnd(fileW), ...cells.map((c, i) => c.padEnd(colW[i]!))].join('  ').trimEnd();
  out.push(row('file', labels));
  r.files.forEach((f, i) => out.push(row(f, r.kernels.map((k) => cellText(k.cells[i]!)))));
  if (tags.size) {
    out.push('', 'known kernel bugs (the cells still count as divergences):');
    for (const { tag, label } of tags.values()) out.push(`  [${tag}] ${knownText(label)}`);
  }
  out.push('', 'kernels, and the model profile each was judged against:');
  r.kernels.forEach((k, i) => out.push(`  ${labels[i]}: ${labels[i] !== k.kernel ? `${k.kernel}\n      ` : ''}${kernelLine(k)}`));
  const notes: string[] = [];
  r.files.forEach((f, i) => {
    r.kernels.forEach((k, j) => {
      const c = k.cells[i]!;
      if (c.status === 'match' || c.status === 'untested') return;
      const what =
        c.status === 'diverge'
          ? `${c.divergence!.layer} at call ${c.divergence!.call} (${c.divergence!.kind}), signature ${c.signature}: ${c.divergence!.detail}`
          : `${c.status}${c.detail ? `: ${c.detail}` : ''}`;
      const known = c.known ? `\n      [${tags.get(c.known.file)!.tag}] ${knownText(c.known)}` : '';
      notes.push(`  ${f} on ${labels[j]}: ${what}${known}\n      replay: ${replayCommand(f, k.kernel, base)}`);
    });
  });
  if (notes.length) out.push('', 'cells that do not match:', ...notes);
  const s = summary(r);
  const known = r.kernels.flatMap((k) => k.cells).filter((c) => c.known).length;
  out.push('', `summary: ${s.match} match, ${s.diverge} diverge${known ? ` (${known} known)` : ''}, ${s.crash} crash, ${s.timeout} timeout, ${s.infra} infra${s.untested ? `, ${s.untested} untested` : ''}`);
  return out.join('\n') + '\n';
}

export function matrixDocument(r: MatrixResult, base: Base, profile: string | null = null): z.input<typeof matrixJson> {
  const labels = columnLabels(r.kernels);
  return {
    vmafuzz: JSON_VERSION,
    command: 'matrix',
    runner: base.runner,
    profile,
    files: r.files,
    kernels: r.kernels.map((k, i) => ({
      kernel: k.kernel,
      label: labels[i]!,
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
          ...(c.known ? { known: c.known } : {}),
          ...(c.detail ? { detail: c.detail } : {}),
          ...(c.status !== 'untested' ? { replay: replayCommand(file, k.kernel, base) } : {}),
        };
      }),
    })),
    summary: summary(r),
    exitCode: matrixExitCode(r),
  };
}
