// The store contract on the embedded SQLite store: a new database file per test.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll} from 'vitest'

import {openSqliteStore} from '../../../../src/lib/server/store/sqlite.js'
import {storeContract} from './store-contract.js'

const root = mkdtempSync(join(tmpdir(), 'relctl-store-'))
afterAll(() => rmSync(root, {recursive: true, force: true}))
let count = 0
let file = ''

storeContract('sqlite', {
  async open() {
    file = join(root, `store-${++count}.db`)
    return openSqliteStore(file)
  },
  openSecond: () => openSqliteStore(file),
})
