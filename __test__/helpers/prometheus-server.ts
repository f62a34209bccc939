// A real Prometheus server (Debian's `prometheus` package) for the tests: on 127.0.0.1, with its
// own temporary data directory and configuration, scraping the given targets every second.
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import type { Server } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const PROMETHEUS_BINARY = process.env.PROMETHEUS_BINARY ?? '/usr/bin/prometheus'

// Prometheus logs this line once its HTTP API answers.
const READY_LINE = 'Server is ready to receive web requests.'

export interface QueryResult {
  metric: Record<string, string>
  /** [unix seconds, value as Prometheus writes it] */
  value: [number, string]
}

export interface PrometheusServer {
  url: string
  /** An instant query through `/api/v1/query`, at the current time. */
  query(expression: string): Promise<QueryResult[]>
  /** Stops the server and removes its directory. */
  stop(): Promise<void>
}

async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

function configYaml(targets: string[], metricsPath: string): string {
  const list = targets.map((target) => JSON.stringify(target)).join(', ')
  return [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: under-test',
    `    metrics_path: ${JSON.stringify(metricsPath)}`,
    '    static_configs:',
    `      - targets: [${list}]`,
    '',
  ].join('\n')
}

/** Starts Prometheus scraping `targets` (`host:port`) every second; resolves once it is ready. */
export async function startPrometheus(targets: string[], metricsPath = '/metrics'): Promise<PrometheusServer> {
  const directory = mkdtempSync(join(tmpdir(), 'prometheus-test-'))
  const configFile = join(directory, 'prometheus.yml')
  writeFileSync(configFile, configYaml(targets, metricsPath))
  const port = await freePort()
  const child = spawn(
    PROMETHEUS_BINARY,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(directory, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=info',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  const cleanUp = (): void => rmSync(directory, { recursive: true, force: true })
  try {
    await ready(child)
  } catch (error) {
    child.kill('SIGKILL')
    cleanUp()
    throw error
  }
  const url = `http://127.0.0.1:${port}`
  let stopping: Promise<void> | undefined
  return {
    url,
    async query(expression) {
      const response = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expression })}`)
      const body = (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: QueryResult[] } }
      if (body.status !== 'success' || body.data?.resultType !== 'vector') {
        throw new Error(`Prometheus refused ${expression}: ${body.error ?? JSON.stringify(body)}`)
      }
      return body.data.result
    },
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = once(child, 'exit')
          child.kill('SIGTERM')
          await exited
        }
        cleanUp()
      })()
      return stopping
    },
  }
}

/** Resolves when the server logs that it is ready; rejects with its log if it exits first. */
function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = ''
    const onData = (chunk: Buffer): void => {
      log += chunk.toString('utf8')
      if (log.includes(READY_LINE)) {
        child.stderr?.off('data', onData)
        // Keep draining its log so that a full pipe never blocks the server.
        child.stderr?.resume()
        child.off('exit', onExit)
        resolve()
      }
    }
    const onExit = (code: number | null, signal: string | null): void => {
      reject(new Error(`prometheus exited (${code ?? signal}) before it was ready:\n${log.slice(-4000)}`))
    }
    child.once('error', reject)
    child.once('exit', onExit)
    child.stderr?.on('data', onData)
  })
}

/**
 * Resolves once `server` has started answering `count` more scrapes of `path`. Prometheus scrapes
 * a target one scrape at a time and stores a scrape's samples before starting the next, so after
 * two, every figure the target showed at the first is queryable.
 */
export function scrapesOf(server: Server, count: number, path = '/metrics'): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0
    const onRequest = (request: { url?: string }): void => {
      if (request.url?.split('?')[0] !== path) return
      seen += 1
      if (seen < count) return
      server.off('request', onRequest)
      resolve()
    }
    server.on('request', onRequest)
  })
}
