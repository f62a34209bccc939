import type { NativeStore } from '../index.js'
import { layout } from './layout.js'

/** A store's dimensions, as the native core numbers them. */
const MODELS = 0
const AGENTS = 1
const PROVIDER_IDS = 2

/**
 * This thread's view of one of a store's symbol tables: names cross the boundary once, as small
 * ids. Only names the table took are cached, so the cache is bounded by the store's key limit,
 * and a name that overflowed (id 0) asks the core again each time. A null-prototype dictionary
 * rather than a Map: V8 looks a string key up in it by identity once it has internalized the
 * string, where a Map compares the characters of every equal key it meets.
 */
export class SymbolCache {
  readonly #ids: Record<string, number | undefined> = Object.create(null)
  readonly #names: string[] = [...layout.reservedNames]
  // Once the table has refused a name it is full for good (it never gives names back while its
  // store lives): a name this thread has not cached is then recorded by its text, which the core
  // resolves, so asking for an id first would only cost a call.
  #full = false

  constructor(
    readonly native: NativeStore,
    readonly dimension: number,
  ) {}

  /** The cached id of `value`, or undefined; a non-string is never a key (no `toString` runs). */
  cached(value: unknown): number | undefined {
    return typeof value === 'string' ? this.#ids[value] : undefined
  }

  /** The cached id of an optional name (0 when absent), or undefined when it is not cached. */
  cachedOptional(value: unknown): number | undefined {
    return value == null ? 0 : this.cached(value)
  }

  /** The id of a name already checked with `checkIdentifier`; 0 when the table is full. */
  intern(name: string): number {
    if (this.#full) return 0
    const id = this.native.intern(this.dimension, name)
    if (id === 0) {
      this.#full = true
      return id
    }
    this.#ids[name] = id
    // Kept for readers while the ids run on from the cached ones (another thread may have interned
    // the ids in between): a store's first `stats()` then fetches none of the names this thread
    // gave it.
    if (id === this.#names.length) this.#names.push(propertyKey(name))
    return id
  }

  /** The names cached so far, by id, for readers of many ids; `nameOf` fetches those past its end. */
  get names(): readonly string[] {
    return this.#names
  }

  /** The name of an id, which another thread may have interned. */
  nameOf(id: number): string {
    if (id >= this.#names.length) {
      for (const name of this.native.symbolNames(this.dimension, this.#names.length)) this.#names.push(name)
    }
    return this.#names[id]
  }
}

// V8 makes a key of a string by copying it and leaving the original a forwarding string, which a
// collection replaces where it finds it only if the original is young: a name kept as the caller's
// old string would cost an indirection in every event and record made with it (the benchmark's
// spool took 1.24x the time per event without one, against 1.16x, means of seven runs). The keys
// of a dictionary are V8's own copies.
const keyProbe: Record<string, number> = Object.create(null)

/** `name` as V8's own copy of it as a property key. */
function propertyKey(name: string): string {
  keyProbe[name] = 0
  const key = Object.keys(keyProbe)[0]
  delete keyProbe[name]
  return key
}

/** A store's names, by dimension, as this thread sees them. */
export class StoreNames {
  readonly models: SymbolCache
  readonly agents: SymbolCache
  readonly providerIds: SymbolCache

  constructor(native: NativeStore) {
    this.models = new SymbolCache(native, MODELS)
    this.agents = new SymbolCache(native, AGENTS)
    this.providerIds = new SymbolCache(native, PROVIDER_IDS)
  }
}

/** A name from a row: a symbol id, or `-(index + 1)` into the names that overflowed. */
export function nameIn(cache: SymbolCache, value: number, overflowNames: readonly string[]): string {
  return value < 0 ? overflowNames[-value - 1] : cache.nameOf(value)
}
