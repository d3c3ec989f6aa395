import type {FastifyInstance} from 'fastify'

import {PauseRequest, PauseResponse, ResumeResponse, Schedule, SetScheduleRequest} from '../../api/environment-schemas.js'
import type {Engine} from '../engine/engine.js'
import {actorOf} from './auth.js'
import {EnvironmentParams, errorResponses, ProjectParams} from './common.js'

type EnvParams = {project: string; environment?: string}

export function registerPauseAndScheduleRoutes(app: FastifyInstance, engine: Engine) {
  app.post<{Body: {reason?: string}}>(
    '/v1/pause',
    {schema: {tags: ['pauses'], summary: 'Pause releases of the whole control plane (every project): one switch', body: PauseRequest, response: {200: PauseResponse, ...errorResponses}}},
    async (request) => engine.pause(null, null, request.body?.reason ?? null, actorOf(request)),
  )
  app.post(
    '/v1/resume',
    {schema: {tags: ['pauses'], summary: 'Lift the control plane\'s pause (project and environment pauses stay)', response: {200: ResumeResponse, ...errorResponses}}},
    async (request) => engine.resume(null, null, actorOf(request)),
  )
  for (const [path, params, level] of [
    ['/v1/projects/:project', ProjectParams, 'the project (every environment)'],
    ['/v1/projects/:project/environments/:environment', EnvironmentParams, 'one environment'],
  ] as const) {
    app.post<{Params: EnvParams; Body: {reason?: string}}>(
      `${path}/pause`,
      {schema: {tags: ['pauses'], summary: `Pause releases of ${level}: nothing starts until resumed`, params, body: PauseRequest, response: {200: PauseResponse, ...errorResponses}}},
      async (request) => engine.pause(request.params.project, request.params.environment ?? null, request.body?.reason ?? null, actorOf(request)),
    )
    app.post<{Params: EnvParams}>(
      `${path}/resume`,
      {schema: {tags: ['pauses'], summary: `Lift the pause of ${level} (only that level)`, params, response: {200: ResumeResponse, ...errorResponses}}},
      async (request) => engine.resume(request.params.project, request.params.environment ?? null, actorOf(request)),
    )
  }

  const schedulePath = '/v1/projects/:project/environments/:environment/schedule'
  type Params = {project: string; environment: string}
  app.put<{Params: Params; Body: SetScheduleRequest}>(
    schedulePath,
    {schema: {tags: ['schedules'], summary: 'Set (or replace) the environment\'s schedule', params: EnvironmentParams, body: SetScheduleRequest, response: {200: Schedule, ...errorResponses}}},
    async (request) => engine.setSchedule(request.params.project, request.params.environment, request.body, actorOf(request)),
  )
  app.get<{Params: Params}>(
    schedulePath,
    {schema: {tags: ['schedules'], summary: 'The schedule, its next run and its last runs', params: EnvironmentParams, response: {200: Schedule, ...errorResponses}}},
    async (request) => engine.getSchedule(request.params.project, request.params.environment),
  )
  app.delete<{Params: Params}>(
    schedulePath,
    {schema: {tags: ['schedules'], summary: 'Delete the schedule', params: EnvironmentParams, response: {200: Schedule, ...errorResponses}}},
    async (request) => engine.deleteSchedule(request.params.project, request.params.environment),
  )
  for (const [verb, paused] of [['pause', true], ['resume', false]] as const) {
    app.post<{Params: Params}>(
      `${schedulePath}/${verb}`,
      {schema: {tags: ['schedules'], summary: paused ? 'Pause the schedule: its runs are recorded as skipped' : 'Resume the schedule', params: EnvironmentParams, response: {200: Schedule, ...errorResponses}}},
      async (request) => engine.pauseSchedule(request.params.project, request.params.environment, paused),
    )
  }
}
