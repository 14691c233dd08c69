/**
 * Unique-name generation for graph surgery: every new node and tensor gets a
 * name that no existing node or tensor uses.
 */
export class NameGen {
  private readonly used = new Set<string>();
  private readonly counters = new Map<string, number>();

  constructor(existing: Iterable<string> = []) {
    for (const n of existing) this.used.add(n);
  }

  /** Marks `name` as taken (no-op if it already is). */
  reserve(name: string): void {
    this.used.add(name);
  }

  has(name: string): boolean {
    return this.used.has(name);
  }

  /** A fresh name starting with `base`: `base` itself if free, else `base_1`, `base_2`, ... */
  fresh(base: string): string {
    if (!this.used.has(base)) {
      this.used.add(base);
      return base;
    }
    let i = this.counters.get(base) ?? 1;
    while (this.used.has(`${base}_${i}`)) i++;
    this.counters.set(base, i + 1);
    const name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}
