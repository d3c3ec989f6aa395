// What a deploy inherits from the control plane's environment.
import {describe, expect, it} from 'vitest'

import type {ResourceSpec} from '../../../../src/lib/server/blueprint/blueprint.js'
import {deployEnvironment} from '../../../../src/lib/server/drivers/deploy-env.js'

const SERVER_ENV = {
  PATH: '/usr/bin:/bin',
  HOME: '/home/ops',
  LANG: 'C.UTF-8',
  LC_TIME: 'de_DE.UTF-8',
  TZ: 'UTC',
  RELCTL_SERVER_TOKEN: 'rc_secret',
  RELCTL_SERVER_TOKEN_FILE: '/etc/relctl/token',
  RELCTL_TOKEN: 'rc_client',
  AWS_SECRET_ACCESS_KEY: 'aws-secret',
  AWS_PROFILE: 'prod',
  KUBECONFIG: '/home/ops/.kube/config',
}

function resource(passEnv: string[]): ResourceSpec {
  return {
    name: 'api',
    kind: 'application',
    dependsOn: [],
    version: null,
    driver: 'exec',
    exec: {deploy: './deploy.sh', health: null, destroy: null, status: null, passEnv},
    simulate: null,
    timeoutMs: 60_000,
    retries: null,
  }
}

describe('deployEnvironment', () => {
  it('passes the basics and nothing else by default', () => {
    expect(deployEnvironment({passEnv: [], resource: resource([])}, SERVER_ENV)).toEqual({
      PATH: '/usr/bin:/bin',
      HOME: '/home/ops',
      LANG: 'C.UTF-8',
      LC_TIME: 'de_DE.UTF-8',
      TZ: 'UTC',
    })
  })

  it("adds the server's --pass-env names and the resource's exec.passEnv names", () => {
    const env = deployEnvironment({passEnv: ['AWS_PROFILE'], resource: resource(['KUBECONFIG', 'NOT_SET'])}, SERVER_ENV)
    expect(env).toMatchObject({AWS_PROFILE: 'prod', KUBECONFIG: '/home/ops/.kube/config'})
    expect(Object.keys(env)).not.toContain('AWS_SECRET_ACCESS_KEY')
    expect(Object.keys(env)).not.toContain('NOT_SET')
  })

  it('never passes the token variables, even when named', () => {
    const secrets = ['RELCTL_SERVER_TOKEN', 'RELCTL_SERVER_TOKEN_FILE', 'RELCTL_TOKEN']
    const env = deployEnvironment({passEnv: secrets, resource: resource(secrets)}, SERVER_ENV)
    for (const name of secrets) expect(env).not.toHaveProperty(name)
  })
})
