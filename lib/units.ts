import { checkCount, describe } from './validate.js'

/** Microdollars in one US dollar: every cost is counted in integer microdollars. */
export const MICROS_PER_USD = 1_000_000

export function microsToUsd(micros: number): number {
  return checkCount('micros', micros) / MICROS_PER_USD
}

/** Rounded to the nearest microdollar, never negative. */
export function usdToMicros(usd: number): number {
  if (typeof usd !== 'number') throw new TypeError(`usd must be a number, got ${describe(usd)}`)
  if (!Number.isFinite(usd)) throw new RangeError(`usd must be a finite number, got ${describe(usd)}`)
  const micros = Math.max(0, Math.round(usd * MICROS_PER_USD))
  if (micros > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`usd must be at most ${Number.MAX_SAFE_INTEGER / MICROS_PER_USD} to convert exactly, got ${describe(usd)}`)
  }
  return micros
}

/** Unix time in milliseconds. */
export function currentTimeMs(): number {
  return Date.now()
}
