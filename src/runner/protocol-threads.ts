// The wire form of concurrent sequences (docs/harness-protocol.md "Threads"): after the setup
// calls, `thread` starts each racing thread's list, `sync` is a barrier, `readers <n>` asks for maps
// readers. The harness answers `t` records (result plus start/end) and `R` reads (protocol.ts parses
// them); here they become SeqObservation.timing and .reads.

import { parseMapsLine } from '../seq/maps.js';
import type { MapsEntry, SeqObservation } from '../seq/observation.js';
import type { Sequence } from '../seq/schema.js';
import { racingCalls } from '../seq/threads.js';
import { encodeCallLine, type RawResult, type WireSequence } from './protocol.js';

/** `w` holds the setup calls; add the racing calls (global order) and the threads' wire body. */
export function racingWire(seq: Sequence, w: WireSequence): WireSequence {
  const racing = racingCalls(seq);
  const body: string[] = [];
  for (const t of seq.threads ?? []) {
    body.push('thread');
    for (const c of t.calls) body.push(c.op === 'sync' ? 'sync' : encodeCallLine(c)); // a racing fork's `nth <k>` too
  }
  if (seq.readers) body.push(`readers ${seq.readers.toString(16)}`);
  return {
    ...w,
    lines: [...w.lines, ...racing.map((r) => encodeCallLine(r.call))],
    returnsAddr: [...w.returnsAddr, ...racing.map((r) => r.call.op === 'mmap' || r.call.op === 'mremap')],
    racing: { setup: seq.calls.length, body },
  };
}

/** Timing and reads of a concurrent run; an unparsable read line makes the run `infra`. */
export function racingObservation(raw: RawResult, obs: SeqObservation, base: bigint): void {
  if (raw.timing) obs.timing = Array.from({ length: raw.calls.length }, (_, i) => (raw.timing![i] ? { start: raw.timing![i]![0], end: raw.timing![i]![1] } : undefined));
  const parse = (lines: string[], what: string): MapsEntry[] => {
    const maps: MapsEntry[] = [];
    for (const l of lines) {
      const e = parseMapsLine(base, l);
      if (e) maps.push(e);
      else if (obs.status === 'ok') {
        obs.status = 'infra';
        obs.detail = `harness: unparsable maps line ${JSON.stringify(l)} in ${what}`;
      }
    }
    return maps;
  };
  if (raw.forks) obs.childMaps = Array.from({ length: raw.calls.length }, (_, i) => (raw.forks![i] ? parse(raw.forks![i]!, 'a racing fork\'s child') : undefined));
  if (raw.reads) obs.reads = raw.reads.map((r) => ({ reader: r.reader, start: r.start, end: r.end, maps: parse(r.lines, "a reader's read") }));
}
