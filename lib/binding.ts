import { createRequire } from 'node:module'

import type * as Native from '../index.js'

// The generated loader picks the prebuilt binary for this platform (or a local build).
const require = createRequire(import.meta.url)

export const native: typeof Native = require('../index.js')
