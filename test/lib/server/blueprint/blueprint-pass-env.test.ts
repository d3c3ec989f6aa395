// exec.passEnv: the control plane's variables a resource's commands may see, validated with file:line.
import {describe, expect, it} from 'vitest'

import {parseBlueprint} from '../../../../src/lib/server/blueprint/blueprint.js'
import {BLUEPRINT_FILE, problemsOf} from '../../../helpers/blueprint.js'

const FILE = BLUEPRINT_FILE

const withPassEnv = (list: string) => `project: shop
resources:
  api:
    driver: exec
    exec:
      deploy: ./deploy.sh
      passEnv: ${list}
environments:
  staging: {}
`


describe('exec.passEnv', () => {
  it('keeps the names it lists', () => {
    const blueprint = parseBlueprint(withPassEnv('[AWS_PROFILE, KUBECONFIG, _private1]'), FILE)
    expect(blueprint.resources[0].exec?.passEnv).toEqual(['AWS_PROFILE', 'KUBECONFIG', '_private1'])
  })

  it('is empty when absent', () => {
    const blueprint = parseBlueprint(withPassEnv('[]').replace('      passEnv: []\n', ''), FILE)
    expect(blueprint.resources[0].exec?.passEnv).toEqual([])
  })

  it('refuses names that are not variables, the token variables and other RELCTL_* names, each at its line', () => {
    const content = `project: shop
resources:
  api:
    driver: exec
    exec:
      deploy: ./deploy.sh
      passEnv:
        - AWS_PROFILE
        - 1BAD
        - RELCTL_SERVER_TOKEN
        - RELCTL_VERSION
        - MY-VAR
environments:
  staging: {}
`
    const problems = problemsOf(content)
    expect(problems.map(({path, line}) => [path, line])).toEqual([
      ['resources.api.exec.passEnv[1]', 9],
      ['resources.api.exec.passEnv[2]', 10],
      ['resources.api.exec.passEnv[3]', 11],
      ['resources.api.exec.passEnv[4]', 12],
    ])
    expect(problems[0].message).toBe('"1BAD" is not a variable name: use letters, digits and "_", not starting with a digit')
    expect(problems[1].message).toBe("RELCTL_SERVER_TOKEN holds the control plane's token; it is never passed to deploys")
    expect(problems[2].message).toBe('RELCTL_VERSION: RELCTL_* names are reserved for the variables relctl sets for each task')
  })

  it('must be a list', () => {
    expect(problemsOf(withPassEnv('AWS_PROFILE'))).toMatchObject([{path: 'resources.api.exec.passEnv', message: 'must be a list, e.g. passEnv: [a, b]', line: 7}])
  })
})
