import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['__test__/**/*.spec.ts'],
    // Worker-thread tests share native stores across threads; child processes isolate them.
    pool: 'forks',
    testTimeout: 30_000,
  },
})
