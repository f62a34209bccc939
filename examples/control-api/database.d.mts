import type { Database, Options } from 'better-sqlite3'

export declare function openSqlite(file: string, options?: Options): Database
