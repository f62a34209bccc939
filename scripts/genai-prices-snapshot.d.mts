// Types of the genai-prices snapshot loader, for the vitest suites.

export const SNAPSHOT_PATH: string
export function loadSnapshot(path?: string): Promise<{ package: string; version: string }>
export function pinnedVersion(): string
export function refreshSnapshot(version: string, asOfDay: string, namesPath: string): Promise<void>
