// vitest globalSetup: a run dir for the throwaway PostgreSQL cluster that the first test needing it
// starts (test/helpers/postgres.ts), and its teardown. Runs that need no PostgreSQL start nothing.
import {chmodSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {CLUSTER_DIR_ENV, removeRunDir} from './postgres.js'

export default function setup(): () => void {
  const runDir = mkdtempSync(join(tmpdir(), 'relctl-test-pg-'))
  // The cluster may run as the postgres user (never as root): it must reach its data dir inside.
  chmodSync(runDir, 0o755)
  process.env[CLUSTER_DIR_ENV] = runDir
  return () => removeRunDir(runDir)
}
