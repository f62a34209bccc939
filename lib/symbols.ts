import { native } from './binding.js'
import { checkIdentifier } from './validate.js'

// This thread's view of the native symbol table: names cross the boundary once, as small ids.
// Only validated names are ever cached, so a cache hit needs no further checks. A null-prototype
// dictionary rather than a Map: V8 looks a string key up in it by identity once it has
// internalized the string, where a Map compares the characters of every equal key it meets.
const ids: Record<string, number | undefined> = Object.create(null)
const names: string[] = ['']

/** The cached id of `value`, or undefined; a non-string is never a key (no `toString` runs). */
export function cachedSymbol(value: unknown): number | undefined {
  return typeof value === 'string' ? ids[value] : undefined
}

/** The cached id of an optional name (0 when absent), or undefined when it is not cached. */
export function cachedOptionalSymbol(value: unknown): number | undefined {
  return value == null ? 0 : cachedSymbol(value)
}

/** The symbol id of an identifier argument (1 to 256 characters), interning it on first sight. */
export function symbolFor(argument: string, value: unknown): number {
  return cachedSymbol(value) ?? intern(checkIdentifier(argument, value))
}

/** Like `symbolFor`, with `undefined` and `null` meaning absent (0). */
export function optionalSymbolFor(argument: string, value: unknown): number {
  if (value == null) return 0
  return cachedSymbol(value) ?? intern(checkIdentifier(argument, value))
}

/** The symbol id of a name already checked with `checkIdentifier`. */
export function intern(name: string): number {
  const id = native.intern(name)
  ids[name] = id
  return id
}

/** The name of a symbol id, which another thread may have interned. */
export function nameOf(id: number): string {
  if (id >= names.length) {
    for (const name of native.symbolNames(names.length)) names.push(name)
  }
  return names[id]
}
