// The control plane on PostgreSQL: `server start --database-url` against the run's throwaway cluster
// runs a release end to end; a bad URL or an unreachable database stops the start with a hint.
import {describe, expect, it} from 'vitest'

import {freshDatabase} from '../helpers/postgres.js'
import {api, closedPort, copyFixture, must, relctl, startServer, tempDir, waitForRelease} from './harness.js'

describe('server start --database-url', () => {
  it('keeps the state in PostgreSQL: apply, trigger, the release succeeds and names its database', async () => {
    const url = await freshDatabase('relctl_e2e')
    const server = await startServer({args: ['--database-url', url]})
    const {port, pathname} = new URL(url)
    expect(server.info.database).toBe(`postgres (127.0.0.1:${port}${pathname})`)
    expect((await api('/v1/whoami')).database).toBe(server.info.database)

    await must(['project', 'apply', '-f', copyFixture('simulate-app').file])
    const id = Number((await must(['release', 'trigger', '--resources', 'api', '-p', 'sim-app', '-e', 'staging'])).stdout.trim())
    await waitForRelease(id, ['succeeded', 'failed', 'cancelled'])
    expect(await api(`/v1/releases/${id}`)).toMatchObject({status: 'succeeded', tasks: [{resource: 'api', status: 'succeeded'}]})
    const shown = await must(['release', 'list', '-p', 'sim-app', '-e', 'staging', '--json'])
    expect(shown.json()).toMatchObject([{id, status: 'succeeded'}])
  })

  it('refuses a URL that is not PostgreSQL, and a database that does not answer, with exit 2 and a hint', async () => {
    const notPostgres = await relctl(['server', 'start', '--port', '0', '--data-dir', tempDir(), '--database-url', 'mysql://db/relctl'])
    expect(notPostgres.code, String(notPostgres)).toBe(2)
    expect(notPostgres.stderr).toMatch(/not a PostgreSQL URL: it starts with mysql:\/\/ where postgres:\/\/ is expected/)
    expect(notPostgres.stderr).toMatch(/postgres:\/\/USER\[:PASSWORD\]@HOST\[:PORT\]\/DATABASE/)

    const port = await closedPort()
    const unreachable = await relctl(['server', 'start', '--port', '0', '--data-dir', tempDir(), '--database-url', `postgres://relctl:s3cret@127.0.0.1:${port}/relctl`])
    expect(unreachable.code, String(unreachable)).toBe(2)
    expect(unreachable.stderr).toContain(`cannot use the database postgres (127.0.0.1:${port}/relctl)`)
    expect(unreachable.stderr).toMatch(/is PostgreSQL running there/)
    expect(unreachable.stderr).not.toContain('s3cret')
  })
})
