import { native } from './binding.js'
import { checkIdentifier } from './validate.js'

// This thread's view of the native symbol table: names cross the boundary once, as small ids.
// Only validated names are ever cached, so a cache hit needs no further checks.
const ids = new Map<string, number>()
const names: string[] = ['']

/** The symbol id of an identifier argument (1 to 256 characters), interning it on first sight. */
export function symbolFor(argument: string, value: unknown): number {
  const id = ids.get(value as string)
  return id === undefined ? intern(checkIdentifier(argument, value)) : id
}

/** Like `symbolFor`, with `undefined` and `null` meaning absent (0). */
export function optionalSymbolFor(argument: string, value: unknown): number {
  if (value == null) return 0
  const id = ids.get(value as string)
  return id === undefined ? intern(checkIdentifier(argument, value)) : id
}

function intern(name: string): number {
  const id = native.intern(name)
  ids.set(name, id)
  return id
}

/** The name of a symbol id, which another thread may have interned. */
export function nameOf(id: number): string {
  if (id >= names.length) {
    for (const name of native.symbolNames(names.length)) names.push(name)
  }
  return names[id]
}
