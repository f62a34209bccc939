// Small pieces the example servers and the demo share.

/** Reads a request body as UTF-8; `done(tooLarge, body)` once it has ended. Past `maxBytes` it keeps
 * reading (so the client can be answered) but keeps nothing. */
export function readBody(req, maxBytes, done) {
  const chunks = []
  let size = 0
  let tooLarge = false
  req.on('data', (chunk) => {
    size += chunk.length
    if (size > maxBytes) tooLarge = true
    else chunks.push(chunk)
  })
  req.on('end', () => done(tooLarge, Buffer.concat(chunks).toString('utf8')))
  req.on('error', () => {})
}

/** mulberry32: a small, fast, seeded generator, good enough for simulated figures. */
export function seededRandom(seed) {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Starts `server` on `host` and `port` (0: any free port); resolves with the port it got. */
export async function listen(server, port, host) {
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return server.address().port
}
