/**
 * Builds the null-prototype records of a snapshot (`byModel`, `byProvider`, `byAgent`) with a
 * function generated for their key set. V8 makes an object filled key by key a dictionary, which
 * costs about 25 ns a key, most of it growing and rehashing the table; the stores to constant keys
 * of generated code give an object of one fixed shape at a few nanoseconds a key. A set is
 * compiled once two reads in a row met it, so keys that change at every read cost no compilation,
 * and only while it is small enough for V8 to keep such an object's shape.
 */
const MAX_SHAPED_KEYS = 96

type Build<T> = (values: readonly T[]) => Record<string, T>

// Node run with `--disallow-code-generation-from-strings` refuses `new Function`: every record is
// then built key by key.
let compilerAvailable = true

export class RecordShape<T> {
  // The ids of the key set the last read met, in its order.
  readonly #ids = new Int32Array(MAX_SHAPED_KEYS)
  #length = -1
  #build: Build<T> | undefined
  // The last record built: V8 drops the optimized code of a builder, which needs the hidden classes
  // of its records, at a collection that finds none of them alive (a dashboard polling every few
  // seconds meets one before each read); keeping one alive keeps the code.
  #resident: Record<string, T> | undefined

  /** The record of `values[i]` under the name of `ids[i]`, for the first `length` of each. */
  record(ids: readonly number[], values: readonly T[], length: number, nameOf: (id: number) => string): Record<string, T> {
    if (this.#met(ids, length)) {
      this.#build ??= compile<T>(ids, length, nameOf)
      if (this.#build !== undefined) return (this.#resident = this.#build(values))
    }
    const record: Record<string, T> = Object.create(null)
    for (let index = 0; index < length; index++) record[nameOf(ids[index])] = values[index]
    return record
  }

  /** Whether the previous read met this key set too; remembers it otherwise. */
  #met(ids: readonly number[], length: number): boolean {
    const known = this.#ids
    let same = length === this.#length
    for (let index = 0; same && index < length; index++) same = known[index] === ids[index]
    if (same) return true
    // A set too large to shape is remembered as none.
    const shaped = length <= MAX_SHAPED_KEYS
    for (let index = 0; shaped && index < length; index++) known[index] = ids[index]
    this.#length = shaped ? length : -1
    this.#build = undefined
    this.#resident = undefined
    return false
  }
}

function compile<T>(ids: readonly number[], length: number, nameOf: (id: number) => string): Build<T> | undefined {
  if (!compilerAvailable) return undefined
  // A constructor, so that V8 sizes the record for its keys once and stores them in the object
  // itself, where stores to a plain object would grow a separate array of them key by key. A
  // null-prototype object has no `__proto__` accessor: `this["__proto__"] = …` makes a key as any
  // other name does. JSON.stringify writes every string as a JavaScript string literal of the same
  // value.
  let body = 'Object.setPrototypeOf(this, null)\n'
  for (let index = 0; index < length; index++) body += `this[${JSON.stringify(nameOf(ids[index]))}] = values[${index}]\n`
  try {
    const Record = new Function('values', body) as new (values: readonly T[]) => Record<string, T>
    return (values) => new Record(values)
  } catch (error) {
    if (!(error instanceof EvalError)) throw error
    compilerAvailable = false
    return undefined
  }
}
