import { native } from './binding.js'
import { POINT_READ } from './layout.js'

// agentStats, budgetStatus and stats() go through this thread's point-read area, memory the native
// core owns: the store's handle and the agent's id in, the figures out, around a native function
// that takes no arguments. That is the cheapest call napi-rs makes, ~20 ns; its glue alone costs
// ~70 ns for a function with an argument and ~200 ns for a method.
export const pointRead = new Float64Array(native.pointReadArea())
/** The same memory as the `i32` slots a small enough `stats()` read is written in. */
export const pointReadSlots = new Int32Array(pointRead.buffer, 0, POINT_READ.statsSlots)
export const READ_STORE = POINT_READ.store
export const READ_AGENT = POINT_READ.agent
export const READ_FIGURES = POINT_READ.figures
