// The observation layers beyond /proc/self/maps that the model predicts (src/seq/observation.ts):
// the smaps "VmFlags:" line of every arena VMA and the pagemap of every arena page.

import { VM_LOCKONFAULT, vmFlagsToString } from './flags.js';
import { HPAGE_PAGES, Mm, PTE_ANON, PTE_GUARD, PTE_MAYBE, PTE_NONE, pteChar, type Vma } from './state.js';
import { thpAllowed } from './pages.js';

/**
 * fs/proc/task_mmu.c:show_smap_vma_flags - one string per arena VMA, in maps order. 6.1 has no
 * mnemonic for VM_LOCKONFAULT and prints "??" (profile row smaps.lf_mnemonic).
 */
export function vmFlagsLayer(mm: Mm): string[] {
  return mm.arenaVmas().map((v) => vmaFlagsString(mm, v));
}

export function vmaFlagsString(mm: Mm, v: Vma): string {
  const s = vmFlagsToString(v.flags);
  if (v.flags & VM_LOCKONFAULT && !mm.profile.rows['smaps.lf_mnemonic']) return s.replace(/\blf\b/, '??');
  return s;
}

/**
 * fs/proc/task_mmu.c:pagemap_pmd_range / pte_to_pagemap_entry - one character per arena page:
 * '-' no VMA or pte_none, 'P' present (PM_PRESENT: anon page, zero page, page-cache page; also a
 * PROT_NONE pte), 'G' guard marker (PM_GUARD_REGION; kernels before 6.15 report the marker as
 * PM_SWAP only, 'S'), 'S' other non-present entries, '?' where the kernel may choose.
 */
export function pagemapLayer(mm: Mm): string {
  // Built as character codes and decoded once: this layer is rendered for every snapshot of a
  // quarter of a campaign's sequences, up to 16383 pages each.
  const n = mm.arenaPages;
  const out = new Uint8Array(n).fill(DASH);
  const guard = mm.profile.pmGuard ? 0x47 /* G */ : 0x53; /* S */
  const mayCollapse = khugepagedCandidates(mm);
  const a = mm.vmas;
  for (let i = 1; i < a.length - 1; i++) {
    const v = a[i]!;
    for (let p = Math.max(v.start, 0), end = Math.min(v.end, n); p < end; p++) {
      const e = mm.pte[p]!;
      if (e === PTE_NONE && mayCollapse.has(Math.floor(p / HPAGE_PAGES))) out[p] = QUESTION;
      else out[p] = e === PTE_GUARD ? guard : PTE_CODES[e] ?? QUESTION;
    }
  }
  let s = '';
  for (let i = 0; i < n; i += 8192) s += String.fromCharCode.apply(null, out.subarray(i, i + 8192) as unknown as number[]);
  return s;
}
const DASH = 0x2d;
const QUESTION = 0x3f;
/** pteChar's characters as codes (state.ts PTE_*) */
const PTE_CODES = Array.from({ length: 7 }, (_, i) => pteChar(i).charCodeAt(0));

/**
 * khugepaged (mm/khugepaged.c:hpage_collapse_scan_pmd) may collapse, at any time, a 2 MiB block
 * that lies inside a VMA where THP is allowed (thp_vma_allowable_order TVA_KHUGEPAGED) and maps at
 * least one anonymous page and no marker (max_ptes_none = 511 by default): every pte_none page of
 * such a block may then be present. Returns the block numbers.
 */
function khugepagedCandidates(mm: Mm): Set<number> {
  const out = new Set<number>();
  for (let b = 0; b < mm.pmd.length; b++) {
    const s = b * HPAGE_PAGES;
    const e = s + HPAGE_PAGES;
    if (e > mm.arenaPages) break;
    const v = mm.lookup(s);
    if (!v || v.end < e || !thpAllowed(mm, v, true)) continue;
    let anon = false;
    let marker = false;
    for (let p = s; p < e; p++) {
      const x = mm.pte[p]!;
      if (x === PTE_ANON || x === PTE_MAYBE) anon = true;
      else if (x === PTE_GUARD) marker = true;
    }
    if (anon && !marker) out.add(b);
  }
  return out;
}
