// Measurement and reporting shared by every benchmark suite.
//
// A suite is an object { id, title, run(context) } whose run resolves to
//   { id, title, unit, rows: Row[], targets: Target[], notes: string[] }
// where a Row is { name, median, min, max, ratio?, missing? } (figures in `unit`) and a Target
// comes from target(). `context` is { native, nativeMissing, options } as built by run.mjs:
// `native` is the loaded package or null, and `options` holds { rounds, warmupRounds, sampleMs }.

const NATIVE_MISSING = 'native build not found, run npm run build'

export const DEFAULT_OPTIONS = Object.freeze({ rounds: 21, warmupRounds: 3, sampleMs: 50 })

// A calibration run must last this long before its ns/op is trusted to size the samples.
const CALIBRATION_NS = 10e6

function median(sorted) {
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** A Row of `samples` (in any order): their median and extremes. */
export function rowOf(name, samples) {
  const sorted = [...samples].sort((a, b) => a - b)
  return { name, median: median(sorted), min: sorted[0], max: sorted.at(-1) }
}

// One sample: `ops` operations in batches of at most `batch`, each batch preceded by an untimed
// reset(); returns ns per operation. Collecting first keeps one contender's garbage out of the next
// contender's sample.
function sample(contender, ops) {
  globalThis.gc?.()
  let elapsed = 0n
  for (let left = ops; left > 0; ) {
    const n = contender.batch ? Math.min(contender.batch, left) : left
    contender.reset?.()
    const start = process.hrtime.bigint()
    contender.run(n)
    elapsed += process.hrtime.bigint() - start
    left -= n
  }
  return Number(elapsed) / ops
}

function calibrate(contender, sampleMs) {
  let ops = contender.batch ?? 256
  for (;;) {
    const ns = sample(contender, ops)
    if (ns * ops >= CALIBRATION_NS) return Math.max(1, Math.round((sampleMs * 1e6) / ns))
    ops *= 4
  }
}

/**
 * Times contenders in interleaved rounds (A, B, C, then B, C, A, ...: the order rotates so no one
 * always runs straight after another's garbage), after calibration and discarded warm-up rounds.
 * A contender is { name, run(n), batch?, reset?() }: run(n) performs n operations and must be its
 * own function literal, so V8's inline caches see only that contender's calls.
 * Rows are ns/op, the median over rounds with the extremes; `baseline` names the contender every
 * other row is given a ratio to.
 */
export function measure(contenders, { rounds, warmupRounds, sampleMs }, baseline) {
  const ops = contenders.map((c) => calibrate(c, sampleMs))
  const samples = contenders.map(() => [])
  for (let round = 0; round < warmupRounds + rounds; round++) {
    progress(`round ${round + 1}/${warmupRounds + rounds}${round < warmupRounds ? ' (warm-up)' : ''}`)
    for (let k = 0; k < contenders.length; k++) {
      const i = (round + k) % contenders.length
      const ns = sample(contenders[i], ops[i])
      if (round >= warmupRounds) samples[i].push(ns)
    }
  }
  const rows = contenders.map((c, i) => ({ ...rowOf(c.name, samples[i]), opsPerSample: ops[i] }))
  progress('')
  const base = rows.find((r) => r.name === baseline)
  if (base) for (const row of rows) row.ratio = row.median / base.median
  return rows
}

/**
 * Where a long suite is, on one self-erasing stderr line; only on a terminal, so a log or a piped
 * run gets just the lines run.mjs prints per suite. An empty text erases the line.
 */
export function progress(text) {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${text ? `  ${text}` : ''}`)
}

/** The row that stands in for our package when it has not been built. */
export function missingRow(name) {
  return { name, missing: NATIVE_MISSING }
}

/**
 * A target the benchmark holds our package to: `value` at most `limit` (every figure is a cost,
 * lower is better). A null value (our package not built) is reported as neither PASS nor MISS.
 */
export function target(label, value, limit, unit) {
  return { label, value, limit, unit, pass: value === null ? null : value <= limit }
}

function figure(value, unit) {
  if (unit === 'x') return `${value.toFixed(2)}x`
  if (unit === 'MiB') return `${value.toFixed(2)} MiB`
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} ms`
  if (value >= 1e4) return `${(value / 1e3).toFixed(1)} µs`
  return `${value.toFixed(1)} ns`
}

function table(header, lines) {
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c].length)))
  const format = (cells) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')
  return [format(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(format)]
}

/** A suite's result as the lines of a human-readable report. */
export function formatSuite(result) {
  const unit = result.unit === 'MiB' ? 'MiB' : 'ns'
  const perOp = result.unit === 'MiB' ? 'delta' : 'median/op'
  const lines = [`## ${result.title}`]
  const present = result.rows.filter((r) => !r.missing)
  lines.push(
    ...table(
      ['contender', perOp, 'min', 'max', 'vs pure JS (lower is better)'],
      present.map((r) => [
        r.name,
        figure(r.median, unit),
        figure(r.min, unit),
        figure(r.max, unit),
        r.ratio === undefined ? '' : figure(r.ratio, 'x'),
      ]),
    ),
  )
  lines.push(
    result.unit === 'MiB'
      ? 'lower is better: memory added; vs pure JS is ours / pure JS, 0.50x = half the memory'
      : 'lower is better: time per operation; vs pure JS is ours / pure JS, 0.50x = twice as fast',
  )
  for (const row of result.rows) if (row.missing) lines.push(`${row.name}: ${row.missing}`)
  for (const t of result.targets) {
    const verdict = t.pass === null ? 'n/a ' : t.pass ? 'PASS' : 'MISS'
    const value = t.value === null ? NATIVE_MISSING : figure(t.value, t.unit)
    lines.push(`${verdict}  ${t.label}: ${value} (target: at most ${figure(t.limit, t.unit)}, lower is better)`)
  }
  for (const note of result.notes) lines.push(`note: ${note}`)
  return `${lines.join('\n')}\n`
}
