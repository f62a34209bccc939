// The sync client's view of an EventStore's buffer: read by cursor, acknowledge by sequence.
//
// `eventsAfter(seq, max)` returns buffered events with a sequence number above `seq`, oldest
// first, so that a round reads only what it has not read before. This adapter gives the store's
// snapshot/markSynced API that shape; it assigns sequence numbers by event id as events are seen.
import type { AnalyticsEvent } from '../events.js'
import type { EventStore } from '../store.js'

export interface Sequenced {
  seq: number
  event: AnalyticsEvent
}

export interface BufferedEvents {
  /** Buffered events with seq > afterSeq, oldest first, at most `max`; seq strictly increases from 1. */
  eventsAfter(afterSeq: number, max: number): Sequenced[]
  /** Removes those buffered events; returns how many were found. */
  acknowledge(seqs: readonly number[]): number
  /** Buffered events, and how many the buffer holds at most. */
  len(): number
  capacity(): number
}

export function bufferOf(store: EventStore): BufferedEvents {
  const seqOf = new Map<string, number>()
  const idOf = new Map<number, string>()
  let last = 0
  return {
    eventsAfter(afterSeq, max) {
      const found: Sequenced[] = []
      const present = new Set<string>()
      for (const event of store.snapshotEvents()) {
        present.add(event.eventId)
        let seq = seqOf.get(event.eventId)
        if (seq === undefined) {
          seq = ++last
          seqOf.set(event.eventId, seq)
          idOf.set(seq, event.eventId)
        }
        if (seq > afterSeq && found.length < max) found.push({ seq, event })
      }
      for (const [id, seq] of seqOf) {
        if (!present.has(id)) {
          seqOf.delete(id)
          idOf.delete(seq)
        }
      }
      return found
    },
    acknowledge(seqs) {
      const ids: string[] = []
      for (const seq of seqs) {
        const id = idOf.get(seq)
        if (id !== undefined) ids.push(id)
      }
      return ids.length === 0 ? 0 : store.markSynced(ids)
    },
    len: () => store.len(),
    capacity: () => store.capacity(),
  }
}
