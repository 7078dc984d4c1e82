// compare: names of the harness's tmpfs files are compared without its (run-specific) directory,
// and (dev, inode) of files by first appearance.
import { describe, expect, it } from 'vitest';
import { canonicalizeFiles, firstDivergence } from '../src/compare/compare.js';
import { canonicalFileName } from '../src/seq/maps.js';
import type { MapsEntry, SeqObservation } from '../src/seq/observation.js';

const entry = (name: string, dev: string, inode: number): MapsEntry => ({ start: 0, end: 1, perms: 'r--s', offset: 0, dev, inode, name });
const obs = (...maps: MapsEntry[]): SeqObservation => ({ calls: [], snapshots: [{ after: -1, maps }], status: 'ok' });

describe('file names and identities', () => {
  it('replaces the harness tmpfs directory, nothing else', () => {
    expect(canonicalFileName('/dev/shm/vmafuzz-10017-B8wzfG/f1 (deleted)')).toBe('<tmpfs>/f1 (deleted)');
    expect(canonicalFileName('/vmafuzz-tmpfs/f3 (deleted)')).toBe('<tmpfs>/f3 (deleted)');
    expect(canonicalFileName('/memfd:f0 (deleted)')).toBe('/memfd:f0 (deleted)');
    expect(canonicalFileName('/dev/shm/other/f1 (deleted)')).toBe('/dev/shm/other/f1 (deleted)');
    expect(canonicalFileName('/dev/zero (deleted)')).toBe('/dev/zero (deleted)');
  });

  it('a model tmpfs entry matches the kernel one; another file name or identity does not', () => {
    const model = obs(entry('<tmpfs>/f1 (deleted)', 'tmpfs', 2), entry('/memfd:f0 (deleted)', '00:01', 1));
    expect(firstDivergence(model, obs(entry('/dev/shm/vmafuzz-1-x/f1 (deleted)', '00:1b', 26620), entry('/memfd:f0 (deleted)', '00:01', 777)))).toBeNull();
    expect(firstDivergence(model, obs(entry('/dev/shm/vmafuzz-1-x/f2 (deleted)', '00:1b', 26620), entry('/memfd:f0 (deleted)', '00:01', 777)))?.kind).toBe('name');
    // the same inode twice in the kernel where the model has two files
    const twice = canonicalizeFiles(obs(entry('/memfd:f0 (deleted)', '00:01', 5), entry('/memfd:f0 (deleted)', '00:01', 5)).snapshots);
    expect(twice[0]!.maps.map((e) => e.inode)).toEqual([1, 1]);
  });
});
