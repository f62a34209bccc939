// A strict parser of the Prometheus text exposition format 0.0.4, for checking what the package
// writes: it refuses anything a lenient scraper might let through (a sample before its family's
// TYPE, a family split in two, an unknown escape, a duplicate series, a histogram whose buckets
// do not add up), so a test that parses a text also proves the text is well-formed.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

export interface Sample {
  /** The sample's own name: `x_bucket`, `x_sum`, `x_count` in a histogram family `x`. */
  name: string
  labels: Record<string, string>
  value: number
}

export interface Family {
  name: string
  help: string | undefined
  type: MetricType
  samples: Sample[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped']
const SUFFIXES: Record<MetricType, readonly string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
}

class ParseError extends Error {
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`)
  }
}

/** Parses `text` into its families, in the order they appear. Throws on anything malformed. */
export function parsePrometheusText(text: string): Family[] {
  if (text.length > 0 && !text.endsWith('\n')) throw new ParseError(0, 'the text must end with a newline')
  const families: Family[] = []
  const byName = new Map<string, Family>()
  const seenSeries = new Set<string>()
  const typed = new Set<Family>()
  let current: Family | undefined
  const lines = text.split('\n').slice(0, -1)
  lines.forEach((line, index) => {
    const at = index + 1
    if (line === '') return
    if (line.startsWith('#')) {
      const comment = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
      if (!comment) throw new ParseError(at, `not a HELP or TYPE line: ${JSON.stringify(line)}`)
      const [, kind, name, rest] = comment
      if (!METRIC_NAME.test(name)) throw new ParseError(at, `bad metric name ${JSON.stringify(name)}`)
      let family = byName.get(name)
      if (family && family !== current) throw new ParseError(at, `family ${name} appears twice`)
      if (!family) {
        family = { name, help: undefined, type: 'untyped', samples: [] }
        families.push(family)
        byName.set(name, family)
        current = family
      }
      if (kind === 'HELP') {
        if (family.help !== undefined) throw new ParseError(at, `second HELP for ${name}`)
        family.help = unescapeHelp(at, rest)
      } else {
        if (!TYPES.includes(rest as MetricType)) throw new ParseError(at, `unknown type ${JSON.stringify(rest)}`)
        if (family.samples.length > 0 || typed.has(family)) throw new ParseError(at, `TYPE of ${name} after its samples or twice`)
        family.type = rest as MetricType
        typed.add(family)
      }
      return
    }
    const sample = parseSample(at, line)
    const family = current && familyOf(current, sample.name) ? current : undefined
    if (!family) throw new ParseError(at, `sample ${sample.name} outside its family (HELP and TYPE first)`)
    if (!typed.has(family)) throw new ParseError(at, `sample ${sample.name} before the TYPE of ${family.name}`)
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`
    if (seenSeries.has(key)) throw new ParseError(at, `duplicate series ${key}`)
    seenSeries.add(key)
    family.samples.push(sample)
  })
  for (const family of families) {
    if (family.help === undefined || !typed.has(family)) throw new ParseError(0, `family ${family.name} lacks HELP or TYPE`)
    if (family.type === 'histogram') checkHistogram(family)
  }
  return families
}

function familyOf(family: Family, sampleName: string): boolean {
  return SUFFIXES[family.type].some((suffix) => sampleName === family.name + suffix)
}

function parseSample(at: number, line: string): Sample {
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0]
  if (!name) throw new ParseError(at, `a sample must start with a metric name: ${JSON.stringify(line)}`)
  let rest = line.slice(name.length)
  const labels: Record<string, string> = Object.create(null)
  if (rest.startsWith('{')) {
    let position = 1
    for (;;) {
      const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(rest.slice(position))?.[0]
      if (!labelName || !LABEL_NAME.test(labelName)) throw new ParseError(at, `bad label name in ${JSON.stringify(line)}`)
      if (labelName in labels) throw new ParseError(at, `label ${labelName} twice`)
      position += labelName.length
      if (rest.slice(position, position + 2) !== '="') throw new ParseError(at, `label ${labelName} without ="`)
      position += 2
      let value = ''
      for (;;) {
        const char = rest[position]
        if (char === undefined) throw new ParseError(at, `unterminated value of label ${labelName}`)
        position += 1
        if (char === '"') break
        if (char === '\\') {
          const escaped = rest[position]
          position += 1
          if (escaped === '\\') value += '\\'
          else if (escaped === '"') value += '"'
          else if (escaped === 'n') value += '\n'
          else throw new ParseError(at, `unknown escape \\${escaped ?? ''} in label ${labelName}`)
        } else {
          value += char
        }
      }
      labels[labelName] = value
      const separator = rest[position]
      position += 1
      if (separator === '}') break
      if (separator !== ',') throw new ParseError(at, `expected , or } after label ${labelName}`)
    }
    rest = rest.slice(position)
  }
  const fields = /^ (\S+)(?: (-?\d+))?$/.exec(rest)
  if (!fields) throw new ParseError(at, `expected one space, a value and an optional timestamp: ${JSON.stringify(line)}`)
  return { name, labels, value: parseValue(at, fields[1]) }
}

function parseValue(at: number, text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  if (text === 'NaN') return Number.NaN
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new ParseError(at, `bad value ${JSON.stringify(text)}`)
  return Number(text)
}

function unescapeHelp(at: number, text: string): string {
  return text.replace(/\\(.?)/g, (_, escaped: string) => {
    if (escaped === '\\') return '\\'
    if (escaped === 'n') return '\n'
    throw new ParseError(at, `unknown escape \\${escaped} in HELP`)
  })
}

/** Each label set of a histogram: cumulative buckets ending in `+Inf`, which equals `_count`. */
function checkHistogram(family: Family): void {
  const series = new Map<string, { buckets: Sample[]; count?: number; sum?: number }>()
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels
    const key = JSON.stringify(Object.entries(rest).sort())
    const entry = series.get(key) ?? { buckets: [] }
    series.set(key, entry)
    if (sample.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${family.name}: a bucket without le`)
      entry.buckets.push(sample)
    } else if (le !== undefined) {
      throw new Error(`${family.name}: le on ${sample.name}`)
    } else if (sample.name.endsWith('_count')) {
      entry.count = sample.value
    } else {
      entry.sum = sample.value
    }
  }
  for (const [key, entry] of series) {
    const bounds = entry.buckets.map((bucket) => parseValue(0, bucket.labels.le))
    if (bounds.at(-1) !== Number.POSITIVE_INFINITY) throw new Error(`${family.name}${key}: no +Inf bucket last`)
    for (let at = 1; at < bounds.length; at++) {
      if (!(bounds[at] > bounds[at - 1])) throw new Error(`${family.name}${key}: bucket bounds not increasing`)
      if (entry.buckets[at].value < entry.buckets[at - 1].value) throw new Error(`${family.name}${key}: buckets not cumulative`)
    }
    if (entry.count === undefined || entry.sum === undefined) throw new Error(`${family.name}${key}: no _count or _sum`)
    if (entry.buckets.at(-1)?.value !== entry.count) throw new Error(`${family.name}${key}: +Inf bucket is not _count`)
  }
}

/** The value of the one sample named `name` with exactly `labels`, or undefined. */
export function sampleValue(families: Family[], name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort())
  for (const family of families) {
    for (const sample of family.samples) {
      if (sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === wanted) return sample.value
    }
  }
  return undefined
}
