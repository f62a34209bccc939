// HTTP to the Control API. node:http with a keep-alive agent: on loopback it costs about as much
// CPU per request as undici's Pool and a sixth of the global fetch, without a runtime dependency
// (see the sync benchmark, benchmark/sync.mjs).
import http from 'node:http'
import https from 'node:https'

export const EVENTS_PATH = '/api/v1/analytics/events'

/**
 * Only the status, Retry-After and, for a 400, the `error` code of a JSON body are read; a code is
 * kept only when it looks like one (`INVALID_TOKEN`), so no free text of the server's reaches a
 * metric or an error.
 */
export interface Reply {
  status: number
  retryAfter: string | undefined
  errorCode: string | undefined
}

const MAX_ERROR_BODY = 4096
const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,63}$/

function errorCodeOf(body: string): string | undefined {
  try {
    const code = JSON.parse(body)?.error
    return typeof code === 'string' && ERROR_CODE.test(code) ? code : undefined
  } catch {
    return undefined
  }
}

/**
 * Why a request got no answer. Messages name the failure only (a timeout, a socket error code),
 * never a header or the body, so they can carry no credential.
 */
export class TransportError extends Error {
  constructor(readonly kind: 'timeout' | 'network' | 'aborted', message: string) {
    super(message)
    this.name = 'TransportError'
  }
}

export class HttpTransport {
  private readonly agent: http.Agent
  private readonly request: typeof http.request
  private readonly target: { protocol: string; hostname: string; port: string; path: string }
  private readonly inFlight = new Set<http.ClientRequest>()

  constructor(serverUrl: string, maxSockets: number) {
    const url = new URL(serverUrl)
    const secure = url.protocol === 'https:'
    this.request = secure ? https.request : http.request
    // Idle keep-alive sockets are unref'd by the agent, so they keep no process alive.
    const options = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' as const }
    this.agent = secure ? new https.Agent(options) : new http.Agent(options)
    this.target = {
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port,
      path: url.pathname.replace(/\/+$/, '') + EVENTS_PATH,
    }
  }

  /**
   * POSTs one JSON body. Resolves with the status as soon as the answer's head arrives (the body
   * is drained, not read, except a 400's); rejects with a TransportError on a timeout, a socket error or abortAll().
   */
  post(body: string, timeoutMs: number): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = this.request({
        ...this.target,
        method: 'POST',
        agent: this.agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          accept: 'application/json',
          'user-agent': 'iron-runtime-analytics',
        },
      })
      this.inFlight.add(req)
      const timer = setTimeout(() => req.destroy(new TransportError('timeout', `request timed out after ${timeoutMs} ms`)), timeoutMs)
      timer.unref()
      const settle = () => {
        clearTimeout(timer)
        this.inFlight.delete(req)
      }
      req.on('response', (res) => {
        const status = res.statusCode ?? 0
        const retryAfter = res.headers['retry-after']
        res.on('error', () => {})
        if (status !== 400) {
          settle()
          res.resume()
          resolve({ status, retryAfter, errorCode: undefined })
          return
        }
        // A 400 may name the token rather than the event: read a small body to tell which.
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          if (body.length < MAX_ERROR_BODY) body += chunk
        })
        res.on('end', () => {
          settle()
          resolve({ status, retryAfter, errorCode: errorCodeOf(body) })
        })
        res.on('close', () => {
          settle()
          resolve({ status, retryAfter, errorCode: errorCodeOf(body) })
        })
      })
      req.on('error', (error: NodeJS.ErrnoException) => {
        settle()
        reject(error instanceof TransportError ? error : new TransportError('network', `network error: ${error.code ?? 'connection failed'}`))
      })
      req.end(body)
    })
  }

  /** Abandons every request in flight; their events stay to be sent again. */
  abortAll(): void {
    for (const req of this.inFlight) req.destroy(new TransportError('aborted', 'request abandoned at the stop deadline'))
  }

  close(): void {
    this.abortAll()
    this.agent.destroy()
  }
}
