// The sync client's view of an EventStore's buffer: read by cursor, acknowledge by sequence.
//
// `eventsAfter(seq, max)` returns buffered events with a sequence number above `seq`, oldest
// first, so that a round reads only what it has not read before and costs what it sends.
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
  return {
    eventsAfter: (afterSeq, max) => store.eventsAfter(afterSeq, max),
    acknowledge: (seqs) => store.acknowledge(seqs),
    len: () => store.len(),
    capacity: () => store.capacity(),
  }
}
