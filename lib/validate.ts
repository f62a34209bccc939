// Argument checks shared by the facade. Each message names the argument and shows what it got,
// and each check runs before anything is recorded, so a refused call changes nothing.

export const MAX_IDENTIFIER_LENGTH = 256
export const MAX_ERROR_MESSAGE_LENGTH = 4096

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : typeof value
}

/** Whether `value` is a non-negative integer that a JavaScript number holds exactly. */
export function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0
}

/** `value` if it is a count (`isCount`), else the TypeError or RangeError naming it. */
export function checkCount(name: string, value: unknown): number {
  if (isCount(value)) return value
  throw countRefused(name, value)
}

/** Why `value` is not a count; apart from `checkCount`, so that its callers stay small enough to inline. */
function countRefused(name: string, value: unknown): TypeError | RangeError {
  if (typeof value !== 'number') return new TypeError(`${name} must be a number, got ${describe(value)}`)
  return new RangeError(`${name} must be a non-negative safe integer, got ${describe(value)}`)
}

export function checkIntegerInRange(name: string, value: unknown, min: number, max: number): number {
  if (Number.isInteger(value) && (value as number) >= min && (value as number) <= max) return value as number
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describe(value)}`)
  throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${describe(value)}`)
}

export function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${describe(value)}`)
  return value
}

/**
 * A model name, agent id, provider id or error code: 1 to 256 characters of well-formed Unicode
 * (a lone surrogate would be rewritten on its way into the core, merging distinct names).
 */
export function checkIdentifier(name: string, value: unknown): string {
  const text = checkString(name, value)
  if (text.length === 0 || text.length > MAX_IDENTIFIER_LENGTH) {
    throw new RangeError(
      `${name} must be 1 to ${MAX_IDENTIFIER_LENGTH} characters long, got ${text.length === 0 ? 'an empty string' : `${text.length} characters`}`,
    )
  }
  if (!text.isWellFormed()) throw new RangeError(`${name} must be well-formed Unicode, got a lone surrogate in ${describe(text)}`)
  return text
}

/** Long error messages are cut, not refused: a router should never lose a failure over its text. */
export function checkOptionalMessage(name: string, value: unknown): string | undefined {
  if (value == null) return undefined
  const text = checkString(name, value).toWellFormed()
  if (text.length <= MAX_ERROR_MESSAGE_LENGTH) return text
  // Never keep half of a surrogate pair: the cut stays a prefix of the original characters.
  const last = text.charCodeAt(MAX_ERROR_MESSAGE_LENGTH - 1)
  const cut = last >= 0xd800 && last <= 0xdbff ? MAX_ERROR_MESSAGE_LENGTH - 1 : MAX_ERROR_MESSAGE_LENGTH
  return text.slice(0, cut)
}
