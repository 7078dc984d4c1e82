// The diagram helper must be able to fail; the behaviour doc must list every rule and row.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROFILE_ROWS, RULE_IDS } from '../../src/model/index.js';
import { diagram, expectLayout, mmap, parseDiagram, world } from './helpers.js';

describe('diagram helpers', () => {
  it('parses runs and renders the model layout', () => {
    expect(parseDiagram('AAB..CC')).toEqual([[0, 2, 'A'], [2, 3, 'B'], [5, 7, 'C']]);
    const w = world(8).ok(mmap(0, 2, 'rw', 'fixed'), mmap(2, 1, 'r', 'fixed'), mmap(5, 2, 'r', 'fixed'));
    expect(diagram(w.mm)).toBe('AAB..CC.');
  });

  it('rejects a wrong layout and wrong attributes', () => {
    const w = world(8).ok(mmap(0, 4, 'rw', 'fixed'));
    expectLayout(w, 'AAAA', { A: 'rw-p ac !nr' });
    expect(() => expectLayout(w, 'AABB')).toThrow();
    expect(() => expectLayout(w, 'AAAAA')).toThrow();
    expect(() => expectLayout(w, 'AAAA', { A: 'r--p' })).toThrow();
    expect(() => expectLayout(w, 'AAAA', { A: 'nr' })).toThrow();
    expect(() => expectLayout(w, 'AAAA', { A: '!ac' })).toThrow();
  });
});

describe('docs/model-behaviour.md', () => {
  const doc = readFileSync(new URL('../../docs/model-behaviour.md', import.meta.url), 'utf8');
  it('lists every rule id and every profile row', () => {
    for (const id of RULE_IDS) expect(doc, id).toContain(`\`${id}\``);
    for (const r of PROFILE_ROWS) expect(doc, r.id).toContain(`\`${r.id}\``);
  });
});
