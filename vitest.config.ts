import {availableParallelism} from 'node:os'

import {defineConfig} from 'vitest/config'

import {scaled, TIMEOUT_SCALE_ENV, timeoutScale} from './test/helpers/timeouts.js'

// One factor for the runner and all workers (see test/helpers/timeouts.ts): the workers read it back
// from the environment instead of measuring the load again.
process.env[TIMEOUT_SCALE_ENV] = String(timeoutScale())

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One throwaway PostgreSQL per run, started only if a test asks for it.
    globalSetup: ['test/helpers/postgres-setup.ts'],
    testTimeout: scaled(60_000),
    hookTimeout: scaled(60_000),
    pool: 'forks',
    // e2e tests start real servers and child processes, and spend much of their time waiting on them:
    // one worker more than the cores keeps the cores busy (on 2 cores: 326 s with 2 workers, 255 s
    // with 3, in one session).
    maxWorkers: availableParallelism() + 1,
  },
})
