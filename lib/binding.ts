import { createRequire } from 'node:module'

import type * as Native from '../index.js'

const require = createRequire(import.meta.url)

/** The platform package napi-rs publishes for this machine, as the generated loader names it. */
function platformPackage(): string {
  const { platform, arch } = process
  if (platform === 'linux') {
    const { header } = process.report.getReport() as { header?: { glibcVersionRuntime?: string } }
    return `iron-runtime-analytics-linux-${arch}-${header?.glibcVersionRuntime ? 'gnu' : 'musl'}`
  }
  return `iron-runtime-analytics-${platform}-${arch}${platform === 'win32' ? '-msvc' : ''}`
}

// The generated loader picks the prebuilt binary for this platform (or a local build); its own
// error does not say which package it looked for, so a failed load names it here.
function load(): typeof Native {
  try {
    return require('../index.js')
  } catch (cause) {
    const name = platformPackage()
    throw new Error(
      `iron-runtime-analytics cannot load its native binary from ${name}, an optional dependency: ` +
        `reinstall without --omit=optional (or --no-optional), or run npm install ${name}.`,
      { cause },
    )
  }
}

export const native: typeof Native = load()
