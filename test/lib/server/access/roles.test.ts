import {describe, expect, it} from 'vitest'

import {ROLES} from '../../../../src/lib/api/domain.js'
import {parseGrant} from '../../../../src/lib/api/grants.js'
import {allows, covers, leastRole, PERMISSIONS, reaches, refusal, ROLE_PERMISSIONS} from '../../../../src/lib/server/access/roles.js'

const cp = {project: null, environment: null}
const shop = {project: 'shop', environment: null}
const prod = {project: 'shop', environment: 'prod'}
const staging = {project: 'shop', environment: 'staging'}

describe('roles', () => {
  it('each role adds to the one it builds on, as the issue says; admin may do everything', () => {
    const may = (role: (typeof ROLES)[number]) => new Set(ROLE_PERMISSIONS[role])
    for (const permission of may('viewer')) expect(may('deployer').has(permission)).toBe(true)
    for (const permission of may('viewer')) expect(may('approver').has(permission)).toBe(true)
    for (const permission of may('deployer')) expect(may('operator').has(permission)).toBe(true)
    expect([...may('admin')].sort()).toEqual([...PERMISSIONS].sort())
    expect(may('deployer').has('approve')).toBe(false)
    expect(may('approver').has('deploy')).toBe(false)
    expect(may('operator').has('approve')).toBe(false)
    expect(PERMISSIONS.map(leastRole)).toEqual(['viewer', 'deployer', 'approver', 'operator', 'admin'])
  })

  it('a grant covers its scope and what lies inside; a listing also lets through a grant that lies inside the scope', () => {
    expect([covers(cp, prod), covers(shop, prod), covers(prod, prod), covers(staging, prod), covers(prod, shop), covers(shop, cp)]).toEqual([true, true, true, false, false, false])
    expect([reaches(prod, shop), reaches(prod, cp), reaches(staging, prod), reaches({project: 'other', environment: null}, shop)]).toEqual([true, true, false, false])
    const grants = [{role: 'deployer' as const, ...staging}]
    expect(allows(grants, 'deploy', staging)).toBe(true)
    expect(allows(grants, 'deploy', prod)).toBe(false)
    expect(allows(grants, 'read', shop)).toBe(false)
    expect(allows(grants, 'read', shop, true)).toBe(true)
    expect(allows(grants, 'approve', staging)).toBe(false)
  })

  it('says what was refused and who could do it', () => {
    expect(refusal('ci-shop', [{role: 'deployer', ...staging}], 'approve releases', 'approve', prod)).toEqual({
      message: 'token ci-shop (deployer on shop/staging) may not approve releases; an approver of shop/prod can',
      hint: 'use a token with that grant, or ask an admin for one: relctl token create --name NAME --role approver --project shop --environment prod',
    })
    expect(refusal('ops', [{role: 'operator', ...shop}, {role: 'viewer', ...cp}], 'create tokens', 'admin', cp).message).toBe(
      'token ops (operator on shop, viewer on the control plane) may not create tokens; an admin of the control plane can',
    )
  })

  it('reads grants as the CLI takes them', () => {
    expect(parseGrant('admin')).toEqual({role: 'admin', project: null, environment: null})
    expect(parseGrant('operator:shop')).toEqual({role: 'operator', project: 'shop', environment: null})
    expect(parseGrant('approver:shop/prod')).toEqual({role: 'approver', project: 'shop', environment: 'prod'})
    for (const bad of ['', 'approver:', 'approver:shop/', 'a:b/c/d', 'a b']) expect(parseGrant(bad), bad).toBeNull()
  })
})
