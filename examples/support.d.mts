import type { IncomingMessage, Server } from 'node:http'

export declare function readBody(req: IncomingMessage, maxBytes: number, done: (tooLarge: boolean, body: string) => void): void
export declare function seededRandom(seed: number): () => number
export declare function listen(server: Server, port: number, host: string): Promise<number>
