// The reference server's SQLite connection, through better-sqlite3. Its addon is compiled for the
// Node ABI that `npm install` ran on; BETTER_SQLITE3_BINDING, when set, names a build of it for the
// running Node instead (scripts/node-matrix.mjs builds one per Node line it tests).
import Database from 'better-sqlite3'

/**
 * @param {string} file SQLite file, or ':memory:'
 * @param {import('better-sqlite3').Options} [options]
 */
export function openSqlite(file, options = {}) {
  const nativeBinding = process.env.BETTER_SQLITE3_BINDING
  return new Database(file, nativeBinding ? { ...options, nativeBinding } : options)
}
