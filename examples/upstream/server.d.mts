export interface UpstreamOptions {
  port?: number
  failureRate?: number
  latencyMs?: number
}

export interface Upstream {
  url: string
  port: number
  close(): Promise<void>
}

export declare function startUpstream(options?: UpstreamOptions): Promise<Upstream>
