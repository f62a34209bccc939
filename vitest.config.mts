// An ES module by its extension: the package is CommonJS, and Vite loads a .ts config as such.
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['__test__/**/*.spec.ts'],
    // Worker-thread tests share native stores across threads; child processes isolate them.
    pool: 'forks',
    // Lets tests collect garbage on purpose, to check what must stay reachable while it waits.
    execArgv: ['--expose-gc'],
    testTimeout: 30_000,
  },
})
