export declare const BINARY: string
export declare function binaryPresent(): boolean
export declare function runInterop(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }>
export type Secrets = Record<string, string>
export declare function secretsFor(dir: string): Secrets
export declare function databasePath(secrets: Secrets): string
export declare function startServer(secrets: Secrets): Promise<{ url: string; kill(signal?: NodeJS.Signals): Promise<void> }>
export declare function agentTokens(url: string): Promise<Record<number, string>>
export declare function signIcToken(secret: string, agentId: string): string
