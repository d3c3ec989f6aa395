import {describe, expect, it} from 'vitest'

import {
  BlueprintError,
  type BlueprintProblem,
  DEFAULT_TASK_TIMEOUT_MS,
  findCycle,
  parseBlueprint,
} from '../../../../src/lib/server/blueprint/blueprint.js'
import {BLUEPRINT_FILE, problemsOf} from '../../../helpers/blueprint.js'

const FILE = BLUEPRINT_FILE

/** 1-based line of the first line of `text` that contains `needle` (after `from` lines). */
function lineOf(text: string, needle: string, from = 0): number {
  const lines = text.split('\n')
  for (let index = from; index < lines.length; index++) if (lines[index].includes(needle)) return index + 1
  throw new Error(`"${needle}" not in text`)
}


function onlyProblem(content: string): BlueprintProblem {
  const problems = problemsOf(content)
  expect(problems, JSON.stringify(problems, null, 2)).toHaveLength(1)
  return problems[0]
}

/** A minimal valid document with `resources` replaced. */
const withResources = (resources: string) => `project: shop
resources:
${resources}
environments:
  prod: {}
`

describe('parseBlueprint: valid blueprints', () => {
  const content = `project: shop
resources:
  db:
    kind: database
    driver: exec
    exec:
      deploy: ./scripts/deploy-db.sh
  api:
    kind: application
    dependsOn: [db]
    version: "1.4.2"
    driver: exec
    exec:
      deploy: ./scripts/deploy.sh
      health: ./scripts/health.sh
      destroy: ./scripts/destroy.sh
    timeout: 5m
  web:
    driver: simulate
    simulate: { duration: 2s }
  worker:
    driver: simulate
    description: background jobs
    simulate:
      duration: 1h30m
      failVersions: ["9.9.9", bad]
      healthy: false
environments:
  staging: {}
  prod:
  qa:
    description: for the QA team
`

  it('normalises resources with their defaults', () => {
    const blueprint = parseBlueprint(content, FILE)
    expect(blueprint.project).toBe('shop')
    expect(blueprint.environments.map((environment) => environment.name)).toEqual(['staging', 'prod', 'qa'])
    expect(blueprint.environments[0]).toEqual({name: 'staging', targets: [], rollout: {services: 'parallel', targets: 'parallel'}, hooks: {beforeTarget: null, afterTarget: null}, hookRetries: null})
    expect(blueprint.workflow).toEqual([])
    expect(blueprint.resources.map((resource) => resource.name)).toEqual(['db', 'api', 'web', 'worker'])
    const [db, api, web, worker] = blueprint.resources
    expect(db).toEqual({
      name: 'db',
      kind: 'database',
      dependsOn: [],
      version: null,
      driver: 'exec',
      exec: {deploy: './scripts/deploy-db.sh', health: null, destroy: null, status: null, passEnv: []},
      simulate: null,
      timeoutMs: DEFAULT_TASK_TIMEOUT_MS,
      retries: null,
    })
    expect(api).toEqual({
      name: 'api',
      kind: 'application',
      dependsOn: ['db'],
      version: '1.4.2',
      driver: 'exec',
      exec: {deploy: './scripts/deploy.sh', health: './scripts/health.sh', destroy: './scripts/destroy.sh', status: null, passEnv: []},
      simulate: null,
      timeoutMs: 5 * 60_000,
      retries: null,
    })
    // kind defaults to application, timeout to 30m, simulate fills in what is not written
    expect(web).toEqual({
      name: 'web',
      kind: 'application',
      dependsOn: [],
      version: null,
      driver: 'simulate',
      exec: null,
      simulate: {durationMs: 2000, failVersions: [], healthy: true},
      timeoutMs: 30 * 60_000,
      retries: null,
    })
    expect(worker.simulate).toEqual({durationMs: 5_400_000, failVersions: ['9.9.9', 'bad'], healthy: false})
  })

  it('gives a simulate resource without settings the default simulation', () => {
    const blueprint = parseBlueprint(withResources('  web:\n    driver: simulate'), FILE)
    expect(blueprint.resources[0].simulate).toEqual({durationMs: 1000, failVersions: [], healthy: true})
    expect(blueprint.resources[0].timeoutMs).toBe(30 * 60_000)
    expect(DEFAULT_TASK_TIMEOUT_MS).toBe(1_800_000)
  })

  it.each([
    ['2', '2'],
    ['"1.10"', '1.10'],
    ["'1.4.2'", '1.4.2'],
    ['1.5', '1.5'],
    ['1.0', '1.0'],
    ['v3', 'v3'],
    ['2024.1', '2024.1'],
  ])('reads version %s as %j', (written, expected) => {
    const blueprint = parseBlueprint(withResources(`  web:\n    driver: simulate\n    version: ${written}`), FILE)
    expect(blueprint.resources[0].version).toBe(expected)
  })

  it('accepts a duration written as a plain number of units in a string', () => {
    const blueprint = parseBlueprint(withResources('  web:\n    driver: simulate\n    timeout: "1500ms"'), FILE)
    expect(blueprint.resources[0].timeoutMs).toBe(1500)
  })
})

describe('parseBlueprint: problems', () => {
  it('refuses an unknown resource key and suggests the right one', () => {
    const content = withResources('  api:\n    driver: simulate\n    dependson: [web]\n  web:\n    driver: simulate')
    const problem = onlyProblem(content)
    expect(problem.path).toBe('resources.api.dependson')
    expect(problem.message).toContain('unknown key "dependson"; did you mean "dependsOn"?')
    expect(problem.message).toContain('allowed here: kind, dependsOn, version, driver, exec, simulate, timeout, retries, description')
    expect(problem.line).toBe(lineOf(content, 'dependson'))
    expect(problem.column).toBe(5)
  })

  it('refuses unknown keys at the top, in exec, in simulate and in environments', () => {
    const content = `project: shop
projct: typo
resources:
  api:
    driver: exec
    exec:
      deplyo: ./x.sh
      deploy: ./d.sh
  web:
    driver: simulate
    simulate:
      duraton: 2s
environments:
  prod:
    descripton: x
`
    const problems = problemsOf(content)
    expect(problems.map((problem) => problem.path)).toEqual([
      'projct',
      'resources.api.exec.deplyo',
      'resources.web.simulate.duraton',
      'environments.prod.descripton',
    ])
    expect(problems[0].message).toContain('did you mean "project"?')
    expect(problems[1].message).toContain('did you mean "deploy"?')
    expect(problems[2].message).toContain('did you mean "duration"?')
    expect(problems[3].message).toContain('did you mean "description"?')
    expect(problems.map((problem) => problem.line)).toEqual([2, 7, 12, 15])
  })

  it('suggests nothing for a key that resembles no allowed key', () => {
    const problem = onlyProblem(withResources('  api:\n    driver: simulate\n    replicas: 3'))
    expect(problem.path).toBe('resources.api.replicas')
    expect(problem.message).toMatch(/^unknown key "replicas" \(allowed here:/)
    expect(problem.message).not.toContain('did you mean')
  })

  it('refuses a dependency on an unknown resource and lists the declared ones', () => {
    const content = withResources('  api:\n    driver: simulate\n    dependsOn: [db, cache]\n  db:\n    driver: simulate')
    const problem = onlyProblem(content)
    expect(problem.path).toBe('resources.api.dependsOn[1]')
    expect(problem.message).toBe('unknown resource "cache"; declared resources: api, db')
    expect(problem.line).toBe(lineOf(content, 'dependsOn'))
    expect(problem.column).toBe(content.split('\n')[problem.line! - 1].indexOf('cache') + 1)
  })

  it('refuses a resource that depends on itself (and does not call it a cycle)', () => {
    const content = withResources('  api:\n    driver: simulate\n    dependsOn:\n      - api')
    const problem = onlyProblem(content)
    expect(problem.path).toBe('resources.api.dependsOn[0]')
    expect(problem.message).toBe('a resource cannot depend on itself')
    expect(problem.line).toBe(lineOf(content, '- api'))
  })

  it('refuses a dependency cycle and spells it out', () => {
    const content = withResources('  a:\n    driver: simulate\n    dependsOn: [b]\n  b:\n    driver: simulate\n    dependsOn: [a]')
    const problem = onlyProblem(content)
    expect(problem.path).toBe('resources.a.dependsOn')
    expect(problem.message).toBe('dependency cycle: a -> b -> a; remove one of these dependsOn entries')
    expect(problem.line).toBe(lineOf(content, 'dependsOn: [b]'))
  })

  it('spells out a longer cycle in dependency order', () => {
    const content = withResources(
      '  x:\n    driver: simulate\n  a:\n    driver: simulate\n    dependsOn: [x, b]\n  b:\n    driver: simulate\n    dependsOn: [c]\n  c:\n    driver: simulate\n    dependsOn: [a]',
    )
    expect(onlyProblem(content).message).toContain('dependency cycle: a -> b -> c -> a;')
  })

  it.each([
    ['timeout: 5x', 'resources.api.timeout', '"5x" is not a duration'],
    ['timeout: 30', 'resources.api.timeout', '"30" is not a duration'],
    ['timeout: 0s', 'resources.api.timeout', '"0s" must be longer than zero'],
    ['timeout: [1s]', 'resources.api.timeout', 'must be a duration such as 30s, 15m or 1h'],
    ['simulate: { duration: fast }', 'resources.api.simulate.duration', '"fast" is not a duration'],
  ])('refuses a bad duration (%s)', (line, path, message) => {
    const content = withResources(`  api:\n    driver: simulate\n    ${line}`)
    const problem = onlyProblem(content)
    expect(problem.path).toBe(path)
    expect(problem.message).toContain(message)
    expect(problem.line).toBe(lineOf(content, line))
  })

  it('shows the valid duration forms in a bad-duration message', () => {
    const problem = onlyProblem(withResources('  api:\n    driver: simulate\n    timeout: soon'))
    expect(problem.message).toContain('1500ms, 30s, 15m, 6h, 1d, 2w or 1h30m')
  })

  it('refuses a resource declared twice (duplicate YAML key) with its line', () => {
    const content = withResources('  api:\n    driver: simulate\n  web:\n    driver: simulate\n  api:\n    driver: exec')
    const problem = onlyProblem(content)
    expect(problem.message).toContain('"api" is declared twice under resources; each name may appear once: rename or merge them')
    expect(problem.line).toBe(lineOf(content, '  api:', lineOf(content, '  api:')))
    expect(typeof problem.path).toBe('string')
  })

  // The design asks for "the path inside the document" with every problem; a duplicate gets '' ("(document)").
  it('names where a duplicate resource is (path resources.api), like every other problem', () => {
    const content = withResources('  api:\n    driver: simulate\n  api:\n    driver: simulate')
    const problem = onlyProblem(content)
    expect(problem.path).toBe('resources.api')
  })

  it('refuses an environment declared twice', () => {
    const content = 'project: shop\nresources:\n  api:\n    driver: simulate\nenvironments:\n  prod: {}\n  prod: {}\n'
    const problem = onlyProblem(content)
    expect(problem.message).toContain('may appear once')
    expect(problem.line).toBe(7)
  })

  it('refuses a resource without a driver', () => {
    const content = withResources('  api:\n    kind: job')
    const problem = onlyProblem(content)
    expect(problem.path).toBe('resources.api.driver')
    expect(problem.message).toBe('missing: set "driver: exec" (with exec.deploy) or "driver: simulate"')
    expect(problem.line).toBe(lineOf(content, 'kind: job'))
  })

  it('refuses an unknown driver and names the known ones', () => {
    const content = withResources('  api:\n    driver: docker')
    const problem = onlyProblem(content)
    expect(problem.path).toBe('resources.api.driver')
    expect(problem.message).toBe('unknown driver "docker"; use one of: exec, simulate')
    expect(problem.line).toBe(lineOf(content, 'docker'))
    expect(problem.column).toBe(13)
  })

  it('refuses the exec driver without exec settings', () => {
    const content = withResources('  api:\n    driver: exec')
    const problem = onlyProblem(content)
    expect(problem.path).toBe('resources.api.exec')
    expect(problem.message).toBe('the exec driver needs "exec: { deploy: <shell command> }"')
    expect(problem.line).toBe(lineOf(content, 'driver: exec'))
  })

  it('refuses exec settings without a deploy command', () => {
    const content = withResources('  api:\n    driver: exec\n    exec:\n      health: ./health.sh')
    const problem = onlyProblem(content)
    expect(problem.path).toBe('resources.api.exec.deploy')
    expect(problem.message).toBe('missing: the shell command that deploys this resource')
    expect(problem.line).toBe(lineOf(content, 'health:'))
  })

  it('refuses settings of the other driver', () => {
    const content = withResources('  api:\n    driver: simulate\n    exec:\n      deploy: ./d.sh')
    const problem = onlyProblem(content)
    expect(problem.path).toBe('resources.api.exec')
    expect(problem.message).toBe('exec settings are only read with "driver: exec"')
  })

  it('refuses an unquoted float version that YAML would change (1.10 -> 1.1)', () => {
    const content = withResources('  api:\n    driver: simulate\n    version: 1.10')
    const problem = onlyProblem(content)
    expect(problem.path).toBe('resources.api.version')
    expect(problem.message).toBe('YAML reads 1.10 as the number 1.1; quote it: version: "1.10"')
    expect(problem.line).toBe(lineOf(content, 'version: 1.10'))
    expect(problem.column).toBe(14)
  })

  it('refuses versions that are not scalars or are booleans', () => {
    expect(onlyProblem(withResources('  api:\n    driver: simulate\n    version: true')).message).toBe('must be a string such as "1.4.2"')
    expect(onlyProblem(withResources('  api:\n    driver: simulate\n    version: [1]')).path).toBe('resources.api.version')
  })

  it('refuses a dependsOn that is not a list', () => {
    const problem = onlyProblem(withResources('  api:\n    driver: simulate\n    dependsOn: db\n  db:\n    driver: simulate'))
    expect(problem.path).toBe('resources.api.dependsOn')
    expect(problem.message).toBe('must be a list, e.g. dependsOn: [a, b]')
  })

  it('refuses invalid resource and project names', () => {
    const problems = problemsOf('project: Shop\nresources:\n  Api_:\n    driver: simulate\n  ok:\n    driver: simulate\nenvironments:\n  prod: {}\n')
    expect(problems.map((problem) => [problem.path, problem.line])).toEqual([
      ['project', 1],
      ['resources.Api_', 3],
    ])
    expect(problems[0].message).toContain('"Shop" is not a valid name')
  })

  it('needs a project, resources and environments', () => {
    const problems = problemsOf('project:\nresources: {}\nenvironments: []\n')
    expect(problems.map((problem) => problem.path)).toEqual(['project', 'resources', 'environments'])
    for (const problem of problems) expect(problem.line).toBeGreaterThan(0)
  })

  it('refuses a document that is not a mapping', () => {
    const problem = onlyProblem('- a\n- b\n')
    expect(problem.message).toContain('must be a mapping')
    expect(problem.line).toBe(1)
  })

  it('reports a YAML syntax error with its line', () => {
    const problem = onlyProblem('project: shop\nresources:\n  api: {driver: simulate\nenvironments:\n  prod: {}\n')
    expect(problem.message).toMatch(/^YAML syntax error: /)
    expect(problem.line).toBeGreaterThan(0)
  })

  it('reports every problem at once, each with a path and a line', () => {
    const content = `project: shop
resources:
  api:
    dependson: [db]
    driver: exec
    version: 1.10
    timeout: 5x
  web:
    driver: docker
  db:
    driver: simulate
    simulate:
      duration: fast
  a:
    driver: simulate
    dependsOn: [b, zz, a]
  b:
    driver: simulate
    dependsOn: [a]
  c:
    kind: job
environments:
  prod: {}
`
    let caught: BlueprintError | undefined
    try {
      parseBlueprint(content, FILE)
    } catch (error) {
      caught = error as BlueprintError
    }
    expect(caught).toBeInstanceOf(BlueprintError)
    const problems = caught!.problems
    expect(new Set(problems.map((problem) => problem.path))).toEqual(
      new Set([
        'resources.api.dependson',
        'resources.api.exec',
        'resources.api.timeout',
        'resources.api.version',
        'resources.web.driver',
        'resources.db.simulate.duration',
        'resources.c.driver',
        'resources.a.dependsOn[1]',
        'resources.a.dependsOn[2]',
        'resources.a.dependsOn',
      ]),
    )
    expect(problems).toHaveLength(10)
    for (const problem of problems) {
      expect(problem.path, JSON.stringify(problem)).not.toBe('')
      expect(problem.line, JSON.stringify(problem)).toBeGreaterThan(0)
      expect(problem.column, JSON.stringify(problem)).toBeGreaterThan(0)
    }
    // The error message lists each problem as file:line:column path: message.
    expect(caught!.message).toMatch(/^relctl\.yaml is not a valid blueprint \(10 problems\):\n/)
    expect(caught!.message).toContain(`  relctl.yaml:${lineOf(content, 'driver: docker')}:13 resources.web.driver: unknown driver "docker"`)
    expect(caught!.message).toContain('resources.a.dependsOn: dependency cycle: a -> b -> a')
  })

  it('says "1 problem" in the singular', () => {
    expect(() => parseBlueprint(withResources('  api:\n    driver: docker'), FILE)).toThrow(/\(1 problem\):/)
  })
})

describe('findCycle', () => {
  const r = (name: string, ...dependsOn: string[]) => ({name, dependsOn})

  it('returns null for an acyclic graph', () => {
    expect(findCycle([])).toBeNull()
    expect(findCycle([r('db'), r('api', 'db'), r('web', 'api', 'db')])).toBeNull()
    // a diamond is not a cycle
    expect(findCycle([r('a', 'b', 'c'), r('b', 'd'), r('c', 'd'), r('d')])).toBeNull()
  })

  it('ignores self edges and unknown targets (reported elsewhere)', () => {
    expect(findCycle([r('a', 'a'), r('b', 'zz')])).toBeNull()
  })

  it('returns a closed path', () => {
    expect(findCycle([r('a', 'b'), r('b', 'a')])).toEqual(['a', 'b', 'a'])
    expect(findCycle([r('a', 'b'), r('b', 'c'), r('c', 'a')])).toEqual(['a', 'b', 'c', 'a'])
  })

  it('returns only the cycle, not the path that leads to it', () => {
    expect(findCycle([r('entry', 'p'), r('p', 'q'), r('q', 'p'), r('other')])).toEqual(['p', 'q', 'p'])
  })

  it('finds a cycle among resources listed after acyclic ones', () => {
    expect(findCycle([r('x'), r('y', 'x'), r('m', 'n'), r('n', 'x', 'm')])).toEqual(['m', 'n', 'm'])
  })
})
