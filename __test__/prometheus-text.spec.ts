import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'

import { parsePrometheusText, sampleValue } from './helpers/prometheus-text.js'

describe('the strict Prometheus text parser the metrics tests rely on', () => {
  it('reads what prom-client writes, escapes included', async () => {
    const registry = new Registry()
    const requests = new Counter({ name: 'x_total', help: 'Requests\\n "quoted"', labelNames: ['model'], registers: [registry] })
    requests.inc({ model: 'a"b\\c\nd' }, 3)
    new Gauge({ name: 'depth', help: 'Depth', registers: [registry] }).set(2.5)
    const latency = new Histogram({ name: 'latency_seconds', help: 'Latency', buckets: [0.1, 1], registers: [registry] })
    latency.observe(0.05)
    latency.observe(5)
    const families = parsePrometheusText(await registry.metrics())
    expect(families.map((family) => [family.name, family.type])).toEqual([
      ['x_total', 'counter'],
      ['depth', 'gauge'],
      ['latency_seconds', 'histogram'],
    ])
    expect(families[0].help).toBe('Requests\\n "quoted"')
    expect(sampleValue(families, 'x_total', { model: 'a"b\\c\nd' })).toBe(3)
    expect(sampleValue(families, 'depth')).toBe(2.5)
    expect(sampleValue(families, 'latency_seconds_bucket', { le: '0.1' })).toBe(1)
    expect(sampleValue(families, 'latency_seconds_bucket', { le: '+Inf' })).toBe(2)
    expect(sampleValue(families, 'latency_seconds_sum')).toBe(5.05)
  })

  const HEAD = '# HELP a A.\n# TYPE a counter\n'
  const refused: [string, string][] = [
    ['no final newline', `${HEAD}a 1`],
    ['a sample before TYPE', '# HELP a A.\na 1\n'],
    ['a family without HELP', '# TYPE a counter\na 1\n'],
    ['a sample of another family', `${HEAD}b 1\n`],
    ['a family split in two', `${HEAD}a{x="1"} 1\n# HELP b B.\n# TYPE b gauge\nb 1\n# HELP a A.\n`],
    ['an unknown escape', `${HEAD}a{x="\\t"} 1\n`],
    ['an unterminated label value', `${HEAD}a{x="1} 1\n`],
    ['a label twice', `${HEAD}a{x="1",x="2"} 1\n`],
    ['a trailing comma', `${HEAD}a{x="1",} 1\n`],
    ['a duplicate series', `${HEAD}a{x="1"} 1\na{x="1"} 2\n`],
    ['two spaces', `${HEAD}a  1\n`],
    ['a bad value', `${HEAD}a one\n`],
    ['an unknown type', '# HELP a A.\n# TYPE a meter\n'],
    ['a comment that is not HELP or TYPE', `${HEAD}# hello\n`],
    [
      'buckets that are not cumulative',
      '# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    ],
    ['a histogram without +Inf', '# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    [
      'a +Inf bucket that is not the count',
      '# HELP h H.\n# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n',
    ],
  ]
  it.each(refused)('refuses %s', (_, text) => {
    expect(() => parsePrometheusText(text)).toThrow()
  })
})
