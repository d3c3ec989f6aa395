// bench/sql-census: which SQL statements a control plane prepares and runs, how often and for how long.
// A preload for the server process: a CPU profile shows SQL time inside kysely's executeQuery, but not
// which statement it was. BENCH_SQL_CENSUS=FILE writes, when the process exits, every statement with
// its prepare count and time and its run count and time, most expensive first, and prints the top 15.
//
//   BENCH_SQL_CENSUS=/tmp/sql.json NODE_OPTIONS="--import ./bench/sql-census.mjs" npm run bench:parallel
import {writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'

const output = process.env.BENCH_SQL_CENSUS
if (output) {
  // The same resolution as the server's import, so that this patches the module instance it uses.
  const Database = createRequire(import.meta.url)('better-sqlite3')
  const statements = new Map()
  const entry = (sql) => {
    if (!statements.has(sql)) statements.set(sql, {sql, prepares: 0, prepareMs: 0, runs: 0, runMs: 0})
    return statements.get(sql)
  }
  const timed = (record, fn) => {
    const start = process.hrtime.bigint()
    try {
      return fn()
    } finally {
      record(Number(process.hrtime.bigint() - start) / 1e6)
    }
  }
  let statementPrototypePatched = false
  const prepare = Database.prototype.prepare
  Database.prototype.prepare = function (sql, ...rest) {
    const statement = timed(
      (ms) => {
        const stats = entry(sql)
        stats.prepares += 1
        stats.prepareMs += ms
      },
      () => prepare.call(this, sql, ...rest),
    )
    if (!statementPrototypePatched) {
      statementPrototypePatched = true
      const prototype = Object.getPrototypeOf(statement)
      for (const method of ['all', 'run', 'get', 'iterate']) {
        const original = prototype[method]
        prototype[method] = function (...args) {
          return timed(
            (ms) => {
              const stats = entry(this.source)
              stats.runs += 1
              stats.runMs += ms
            },
            () => original.apply(this, args),
          )
        }
      }
    }
    return statement
  }
  process.once('exit', () => {
    if (statements.size === 0) return
    const sorted = [...statements.values()].sort((a, b) => b.prepareMs + b.runMs - (a.prepareMs + a.runMs))
    writeFileSync(output, JSON.stringify(sorted, null, 2))
    const total = sorted.reduce((sum, s) => sum + s.prepareMs + s.runMs, 0)
    process.stderr.write(`sql-census: ${sorted.length} statements, ${total.toFixed(0)} ms in prepare + run; top 15 (prepares, prepare ms, runs, run ms, sql):\n`)
    for (const s of sorted.slice(0, 15)) {
      process.stderr.write(`  ${String(s.prepares).padStart(6)} ${s.prepareMs.toFixed(0).padStart(6)} ${String(s.runs).padStart(6)} ${s.runMs.toFixed(0).padStart(6)}  ${s.sql.replace(/\s+/g, ' ').slice(0, 150)}\n`)
    }
  })
}
