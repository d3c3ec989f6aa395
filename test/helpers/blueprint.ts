// Blueprint helpers shared by the parser and planner tests.
import {expect} from 'vitest'

import {BlueprintError, type BlueprintProblem, parseBlueprint, type ResourceSpec} from '../../src/lib/server/blueprint/blueprint.js'

export const BLUEPRINT_FILE = 'relctl.yaml'

/** The problems the parser reports for a blueprint it must refuse. */
export function problemsOf(content: string): BlueprintProblem[] {
  try {
    parseBlueprint(content, BLUEPRINT_FILE)
  } catch (error) {
    expect(error).toBeInstanceOf(BlueprintError)
    expect((error as BlueprintError).file).toBe(BLUEPRINT_FILE)
    return (error as BlueprintError).problems
  }
  throw new Error('expected the blueprint to be refused')
}

/** A parsed simulate resource, as the planner gets it. */
export function simulateResource(name: string, dependsOn: string[] = []): ResourceSpec {
  return {
    name,
    kind: 'application',
    dependsOn,
    version: null,
    driver: 'simulate',
    exec: null,
    simulate: {durationMs: 10, failVersions: [], healthy: true},
    timeoutMs: 60_000,
    retries: null,
  }
}
