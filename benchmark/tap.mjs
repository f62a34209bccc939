// The usage tap's cost on a streamed answer (SPEC section 8): the time to pass a realistic 1 MiB
// SSE stream through `usageTapTransform`, against a bare pass-through `Transform` in the same run.
// Each stream is delivered in the chunks a router's socket reads would give: a model streams far
// slower than the network carries, so a read holds one event or a few coalesced ones, cut
// anywhere (here 60 to 700 bytes: one to three OpenAI chunks, one to five Anthropic deltas).
import { Readable, Transform, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { seededRandom } from '../examples/support.mjs'
import { missingRow, target } from './harness.mjs'
import { OURS } from './suites.mjs'

const STREAM_BYTES = 1024 * 1024
const BARE = 'bare pass-through Transform'
const WORDS = ['the', ' router', ' forwards', ' each', ' request', ',', ' reads', ' usage', ' and', ' records', ' tokens', '.\n', ' cost', ' per', ' agent']

function openAiChat(random) {
  const head = { id: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT', object: 'chat.completion.chunk', created: 1741569952, model: 'gpt-4o-2024-08-06', system_fingerprint: 'fp_eb9dce56a8' }
  const events = [`data: ${JSON.stringify({ ...head, choices: [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }], usage: null })}\n\n`]
  let size = events[0].length
  while (size < STREAM_BYTES - 600) {
    const content = WORDS[Math.floor(random() * WORDS.length)]
    const event = `data: ${JSON.stringify({ ...head, choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }], usage: null })}\n\n`
    events.push(event)
    size += event.length
  }
  events.push(`data: ${JSON.stringify({ ...head, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], usage: null })}\n\n`)
  events.push(`data: ${JSON.stringify({ ...head, choices: [], usage: { prompt_tokens: 1200, completion_tokens: events.length, total_tokens: 1200 + events.length, prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 } } })}\n\n`)
  events.push('data: [DONE]\n\n')
  return events.join('')
}

function anthropic(random) {
  const start = { type: 'message_start', message: { id: 'msg_01XFDUDYJgAACzvnptvVoYEL', type: 'message', role: 'assistant', content: [], model: 'claude-sonnet-4-5-20250929', stop_reason: null, stop_sequence: null, usage: { input_tokens: 472, cache_creation_input_tokens: 2048, cache_read_input_tokens: 8192, output_tokens: 1 } } }
  const events = [`event: message_start\ndata: ${JSON.stringify(start)}\n\n`, `event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n`, 'event: ping\ndata: {"type": "ping"}\n\n']
  let size = events.join('').length
  let deltas = 0
  while (size < STREAM_BYTES - 400) {
    const text = WORDS[Math.floor(random() * WORDS.length)]
    const event = `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })}\n\n`
    events.push(event)
    size += event.length
    deltas++
  }
  events.push('event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n')
  events.push(`event: message_delta\ndata: ${JSON.stringify({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: deltas } })}\n\n`)
  events.push('event: message_stop\ndata: {"type":"message_stop"}\n\n')
  return events.join('')
}

/** The stream as socket reads of 60 to 700 bytes, cut at any byte. */
function socketReads(text, random) {
  const bytes = Buffer.from(text)
  const chunks = []
  for (let at = 0; at < bytes.length; ) {
    const size = 60 + Math.floor(random() * 640)
    chunks.push(bytes.subarray(at, at + size))
    at += size
  }
  return chunks
}

// Streams passed per sample: one stream takes about a millisecond, too short to time alone on a busy machine.
const STREAMS_PER_SAMPLE = 8

/**
 * ns per stream to pass every chunk through a fresh transform from `create`, as a router does:
 * in a pipeline from the upstream's response to the client's, here a source and a sink that do
 * nothing else, with the same backpressure.
 */
async function passThrough(create, chunks) {
  const start = process.hrtime.bigint()
  let received = 0
  let result
  for (let i = 0; i < STREAMS_PER_SAMPLE; i++) {
    const { transform, outcome } = create()
    const sink = new Writable({
      write(chunk, _encoding, callback) {
        received += chunk.length
        callback()
      },
    })
    await pipeline(Readable.from(chunks, { objectMode: false }), transform, sink)
    result = await outcome
  }
  const elapsed = Number(process.hrtime.bigint() - start) / STREAMS_PER_SAMPLE
  return { elapsed, received: received / STREAMS_PER_SAMPLE, result }
}

function bare() {
  return {
    transform: new Transform({
      transform(chunk, _encoding, callback) {
        callback(null, chunk)
      },
    }),
    outcome: undefined,
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return { median: sorted[sorted.length >> 1], min: sorted[0], max: sorted.at(-1) }
}

export const tapSuite = {
  id: 'tap',
  title: 'usageTapTransform vs a bare pass-through Transform in a pipeline, 1 MiB SSE streams in socket-read chunks',
  async run({ native, options }) {
    const rowsFor = (name) => [missingRow(`${OURS}: ${name}`)]
    if (!native) return { id: this.id, title: this.title, unit: 'ns', rows: [...rowsFor('openai-chat'), ...rowsFor('anthropic')], targets: [], notes: [] }
    const random = seededRandom(12)
    const streams = [
      { format: 'openai-chat', chunks: socketReads(openAiChat(random), random) },
      { format: 'anthropic', chunks: socketReads(anthropic(random), random) },
    ]
    const rows = []
    const targets = []
    const notes = []
    for (const { format, chunks } of streams) {
      const bytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0)
      const contenders = [
        { name: `${BARE}: ${format}`, create: bare, samples: [] },
        { name: `${OURS}: usageTapTransform, ${format}`, create: () => native.usageTapTransform(format), samples: [] },
      ]
      let outcome
      for (let round = 0; round < options.warmupRounds + options.rounds; round++) {
        for (let k = 0; k < contenders.length; k++) {
          const contender = contenders[(round + k) % contenders.length]
          globalThis.gc?.()
          const { elapsed, received, result } = await passThrough(contender.create, chunks)
          if (received !== bytes) throw new Error(`${contender.name} passed ${received} of ${bytes} bytes`)
          if (result) outcome = result
          if (round >= options.warmupRounds) contender.samples.push(elapsed)
        }
      }
      // No ratio column: the report's names it "vs pure JS"; the target and the note give it.
      const [base, tap] = contenders.map((c) => ({ name: c.name, ...median(c.samples) }))
      rows.push(base, tap)
      // The target is a throughput of at least 0.5x, which is a time of at most 2x the bare Transform's.
      targets.push(target(`usage tap, ${format}: time vs a bare Transform (throughput >= 0.5x)`, tap.median / base.median, 2, 'x'))
      // On a busy machine the medians carry waits that are no one's cost; the fastest rounds show the tap's own.
      notes.push(
        `${format}: ${(bytes / 1024 / 1024).toFixed(2)} MiB in ${chunks.length} chunks; throughput ${(base.median / tap.median).toFixed(2)}x the bare Transform's ` +
          `(${((bytes / tap.median) * 1e3).toFixed(0)} vs ${((bytes / base.median) * 1e3).toFixed(0)} MB/s), ` +
          `${(base.min / tap.min).toFixed(2)}x in the fastest rounds; outcome ${JSON.stringify(outcome)}`,
      )
    }
    return { id: this.id, title: this.title, unit: 'ns', rows, targets, notes }
  },
}
