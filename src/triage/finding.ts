// Triage of a campaign finding: replay its minimized form (else its representative sample) and
// record the classification in finding.json and report.txt. TriageQueue runs them one at a time
// next to a campaign, each bounded by a time budget; a finding whose triage did not finish (the
// campaign was killed or ended first) simply has none, and `fuzz --resume` or `vmafuzz triage`
// does it again.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Finding, FindingStore } from '../campaign/findings.js';
import { loadSequenceFile } from '../seq/io.js';
import { triageSequence, type TriageOptions } from './run.js';
import type { Triage } from './classify.js';

/** The file a finding is triaged with: minimized.json, else its representative (lowest) sample. */
export function triageFile(dir: string, f: Finding): string {
  if (f.minimized && existsSync(join(dir, f.minimized.file))) return f.minimized.file;
  return f.samples[0]!.file;
}

export async function triageFinding(store: FindingStore, f: Finding, opts: Omit<TriageOptions, 'file'>): Promise<{ finding: Finding; triage: Triage }> {
  const dir = store.dirOf(f.signature, f.kind);
  const file = triageFile(dir, f);
  const triage = await triageSequence(loadSequenceFile(join(dir, file)), { ...opts, file });
  return { finding: store.attachTriage(f.signature, f.kind, triage), triage };
}

/** Findings still to triage: never triaged, or indeterminate last time (an infrastructure failure). */
export const needsTriage = (f: Finding) => f.kind === 'divergence' && (!f.triage || f.triage.class === 'indeterminate');

export class TriageQueue {
  private readonly queue: string[] = [];
  private running: Promise<void> | null = null;
  private stopped = false;
  private current: string | null = null;

  constructor(
    private readonly store: FindingStore,
    private readonly opts: Omit<TriageOptions, 'file' | 'deadline'> & { budgetMs: number },
    private readonly onDone: (f: Finding, t: Triage) => void = () => {},
    private readonly onError: (sig: string, e: Error) => void = () => {},
  ) {}

  add(signature: string): void {
    if (this.stopped || this.queue.includes(signature) || this.current === signature) return;
    this.queue.push(signature);
    this.running ??= this.loop();
  }

  get pending(): number {
    return this.queue.length + (this.running ? 1 : 0);
  }

  private async loop(): Promise<void> {
    try {
      while (!this.stopped && this.queue.length) {
        const sig = (this.current = this.queue.shift()!);
        const f = this.store.list('divergence').find((x) => x.signature === sig);
        if (!f) continue;
        try {
          const r = await triageFinding(this.store, f, { ...this.opts, deadline: Date.now() + this.opts.budgetMs });
          this.onDone(r.finding, r.triage);
        } catch (e) {
          this.onError(sig, e as Error);
        }
      }
    } finally {
      this.current = null;
      this.running = null;
    }
  }

  /** Wait for the queue to empty (the campaign ended normally). */
  async drain(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Take no more work; the triage in flight finishes (its kernel run is bounded) and is recorded. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    await this.drain();
  }
}
