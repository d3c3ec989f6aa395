import {Type} from '@sinclair/typebox'

import {ErrorBody, Name} from '../../api/schemas.js'

const name = Name

export const ProjectParams = Type.Object({project: name})
export const EnvironmentParams = Type.Object({project: name, environment: name})
export const AppParams = Type.Object({project: name, environment: name, app: name})
export const ReleaseParams = Type.Object({id: Type.Integer({minimum: 1, maximum: Number.MAX_SAFE_INTEGER})})

/** Error responses every route may give; listed so OpenAPI shows them. */
export const errorResponses = {400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 413: ErrorBody, 422: ErrorBody, 423: ErrorBody, 500: ErrorBody}
