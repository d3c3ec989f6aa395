import type {ResourceSpec} from '../blueprint/blueprint.js'
import type {Driver} from './driver.js'
import {execDriver} from './exec.js'
import {simulateDriver} from './simulate.js'

const drivers: Record<ResourceSpec['driver'], Driver> = {exec: execDriver, simulate: simulateDriver}

export function driverFor(resource: ResourceSpec): Driver {
  return drivers[resource.driver]
}
