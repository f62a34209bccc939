// A router in miniature for the crash tests: records LLM events in small bursts while a started
// client syncs them with a spool, and prints "<eventId> <ms>" for each, <ms> taken after it was
// recorded. On SIGTERM it stops the client and exits; with --drain it records nothing and exits
// once everything spooled has been delivered.
//   node spool-writer.mjs URL SPOOL_PATH FLUSH_MS [--drain]
import { EventStore, PricingManager, SyncClient, SyncConfig } from '../../dist/index.mjs'

const [url, spoolPath, flushMs, mode] = process.argv.slice(2)
const pricing = new PricingManager()
const store = new EventStore(100_000)
const config = new SyncConfig(url, 'ic_tok_7Q2xVb9LmZ4r')
  .withInterval(50)
  .withBatchThreshold(10)
  .withRetryDelay(10)
  .withMaxRetryDelay(100)
  .withTimeout(2_000)
  .withSpoolPath(spoolPath)
  .withSpoolFlush(Number(flushMs))
const client = new SyncClient(store, config)
const handle = client.start()

process.once('SIGTERM', async () => {
  const report = await handle.stop()
  process.stdout.write(`stopped ${JSON.stringify(report)}\n`, () => process.exit(0))
})

if (mode === '--drain') {
  // Each round waits for the spool's first load, so the loop cannot end before it has begun.
  const drained = () => client.metrics().spooled === 0 && client.metrics().queued === 0 && store.len() === 0
  do await client.syncEvents()
  while (!drained())
  process.stdout.write(`drained ${JSON.stringify(await handle.stop())}\n`)
} else {
  let seq = 0
  const burst = () => {
    for (let i = 0; i < 5; i++) store.recordLlmCompleted(pricing, 'gpt-4o', 100 + i, 10, `agent-${i % 2}`)
    const now = Date.now()
    let lines = ''
    for (const { seq: at, event } of store.eventsAfter(seq, 100)) {
      seq = at
      lines += `${event.eventId} ${now}\n`
    }
    process.stdout.write(lines)
    setTimeout(burst, 3)
  }
  burst()
}
