/**
 * The port's device list (IOCP's "device list": handle → completion key), as a slot table.
 *
 * Ids are small integers reused through a free list, so a backend must free an id only when the
 * device's Close completion has been *delivered* (no older packet naming the id is still queued).
 * Each slot carries a generation that the uring backend packs into user_data to recognise
 * completions of an earlier occupant.
 */
export class DeviceTable<D> {
  private slots: (D | undefined)[] = [];
  private gens: number[] = [];
  private free: number[] = [];
  count = 0;

  add(dev: D): number {
    const id = this.free.length > 0 ? this.free.pop()! : this.slots.length;
    if (id === this.slots.length) {
      this.slots.push(undefined);
      this.gens.push(0);
    }
    this.slots[id] = dev;
    this.gens[id] = (this.gens[id] + 1) & 0xffff;
    this.count++;
    return id;
  }

  get(id: number): D | undefined {
    return this.slots[id];
  }

  gen(id: number): number {
    return this.gens[id] ?? -1;
  }

  release(id: number): void {
    if (this.slots[id] === undefined) return;
    this.slots[id] = undefined;
    this.free.push(id);
    this.count--;
  }

  *entries(): IterableIterator<[number, D]> {
    for (let i = 0; i < this.slots.length; i++) {
      const d = this.slots[i];
      if (d !== undefined) yield [i, d];
    }
  }
}

/** Throw a clear error for an id that names no device. */
export function noDevice(backend: string, what: string, id: number): Error {
  return new Error(`${backend} port: ${what} on unknown device ${id}`);
}
