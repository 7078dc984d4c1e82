// Arena address allocator biased towards reuse, in the spirit of syzkaller's VMA allocator: most
// ranges start at, end at, equal, or overlap ranges used earlier in the sequence, so merges and
// splits happen all the time instead of once in a blue moon.

/** A deterministic pick source: every choice is taken from a fixed list of numbers (the recipe). */
export class Picks {
  private i = 0;
  private state: number;
  constructor(private readonly xs: readonly number[]) {
    this.state = xs.reduce((h, x) => (Math.imul(h, 31) + x) | 0, 0x2545f491) | 1;
  }
  /** a pure xorshift32 stream from a 32-bit seed (no recipe) */
  static seeded(seed: number): Picks {
    const p = new Picks([]);
    p.state = seed | 1;
    return p;
  }
  /** an integer in [0, n) */
  int(n: number): number {
    if (n <= 1) return 0;
    let v = this.xs[this.i++];
    if (v === undefined) {
      // recipe exhausted: continue with xorshift32 seeded by the recipe (no cyclic repetition)
      let x = this.state;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.state = x;
      v = (x >>> 0) & 0xffff;
    }
    return v % n;
  }
  chance(percent: number): boolean {
    return this.int(100) < percent;
  }
  /** weighted choice among keys with non-negative weights */
  weighted<K extends string>(w: Readonly<Record<K, number>>): K {
    const keys = (Object.keys(w) as K[]).filter((k) => w[k] > 0);
    const total = keys.reduce((s, k) => s + w[k], 0);
    let x = this.int(Math.max(1, Math.round(total * 1000)));
    for (const k of keys) {
      x -= Math.round(w[k] * 1000);
      if (x < 0) return k;
    }
    return keys[keys.length - 1]!;
  }
}

export interface Range {
  page: number;
  pages: number;
}

export class ArenaAllocator {
  private readonly used: Range[] = [];
  private readonly edges = new Set<number>();

  constructor(readonly arenaPages: number) {
    this.edges.add(0);
    this.edges.add(arenaPages);
  }

  /** remember a range a call used; its start and end become preferred edges */
  note(r: Range): void {
    this.used.push(r);
    this.edges.add(r.page);
    this.edges.add(r.page + r.pages);
  }

  /** a length in pages: mostly small, sometimes large */
  length(p: Picks): number {
    const max = this.arenaPages;
    const roll = p.int(100);
    if (roll < 55) return 1 + p.int(Math.min(4, max));
    if (roll < 85) return 1 + p.int(Math.min(16, max));
    return 1 + p.int(max);
  }

  /** a range inside the arena, biased to earlier ranges and edges */
  range(p: Picks): Range {
    const n = this.arenaPages;
    const mode = this.used.length ? p.int(100) : 90;
    let page: number;
    let pages: number;
    if (mode < 25) {
      // exactly an earlier range, or a sub-range of it (head, tail or interior)
      const r = this.used[p.int(this.used.length)]!;
      const sub = p.int(4);
      if (sub === 0 || r.pages < 2) {
        page = r.page;
        pages = r.pages;
      } else if (sub === 1) {
        page = r.page;
        pages = 1 + p.int(r.pages - 1);
      } else if (sub === 2) {
        pages = 1 + p.int(r.pages - 1);
        page = r.page + r.pages - pages;
      } else {
        page = r.page + 1 + p.int(Math.max(1, r.pages - 2));
        pages = 1 + p.int(Math.max(1, r.page + r.pages - page - 1));
      }
    } else if (mode < 45) {
      // overlapping an earlier range, shifted by a few pages
      const r = this.used[p.int(this.used.length)]!;
      page = Math.max(0, r.page + p.int(2 * 4 + 1) - 4);
      pages = Math.max(1, r.pages + p.int(2 * 4 + 1) - 4);
    } else if (mode < 80) {
      // starting or ending at a known edge
      const es = [...this.edges];
      const e = es[p.int(es.length)]!;
      pages = this.length(p);
      page = p.chance(50) ? e : e - pages;
    } else if (mode < 90 && this.used.length > 1) {
      // across several earlier ranges (so usually several VMAs): from the start of one, or a page
      // inside it, to the end of another, or a page inside it (a partial range ending at an edge)
      const a = this.used[p.int(this.used.length)]!;
      const b = this.used[p.int(this.used.length)]!;
      const [lo, hi] = a.page <= b.page ? [a, b] : [b, a];
      page = p.chance(60) ? lo.page : lo.page + p.int(lo.pages);
      const end = p.chance(60) ? Math.max(hi.page + hi.pages, lo.page + lo.pages) : hi.page + 1 + p.int(hi.pages);
      pages = Math.max(1, end - page);
    } else {
      pages = this.length(p);
      page = p.int(n);
    }
    page = Math.max(0, Math.min(page, n - 1));
    pages = Math.max(1, Math.min(pages, n - page));
    return { page, pages };
  }

  /** an address (page) inside the arena, biased to edges and used ranges */
  page(p: Picks): number {
    if (this.used.length && p.chance(70)) {
      const r = this.used[p.int(this.used.length)]!;
      return Math.min(this.arenaPages - 1, r.page + p.int(r.pages));
    }
    return p.int(this.arenaPages);
  }
}
