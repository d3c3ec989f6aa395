import {Type} from '@sinclair/typebox'

import {ErrorBody} from '../../api/schemas.js'

const name = Type.String({pattern: '^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$'})

export const ProjectParams = Type.Object({project: name})
export const EnvironmentParams = Type.Object({project: name, environment: name})
export const AppParams = Type.Object({project: name, environment: name, app: name})
export const ReleaseParams = Type.Object({id: Type.Integer({minimum: 1})})

/** Error responses every route may give; listed so OpenAPI shows them. */
export const errorResponses = {400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody, 423: ErrorBody, 500: ErrorBody}
