// Request validation without ajv's coercion: bodies are JSON and are checked as sent (`null` is not
// `false`, `true` is not 1). Querystrings, path parameters and headers arrive as text, so their integer
// and boolean fields are read here, strictly: "12" is 12, "true" is true, and "1e400", "1.5", "yes" stay
// text that the schema then refuses (ajv's own coercion turns "1e400" into Infinity, past every bound).
// Every refusal names the path of the bad value.
import {AjvCompiler} from '@fastify/ajv-compiler'
import type {FastifyError, FastifySchema, FastifySchemaCompiler} from 'fastify'

import {NAME_PATTERN, NAME_RULE, VERSION_PATTERN, VERSION_RULE} from '../../api/domain.js'
import type {ErrorBody} from '../../api/schemas.js'

// Unknown body keys are refused (additionalProperties: false in the schemas), never dropped: a typo
// such as "dryrun" must not turn a dry run into a real release.
const compile = AjvCompiler()({}, {customOptions: {coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false}})

const INTEGER_TEXT = /^-?(0|[1-9][0-9]*)$/

function readText(value: unknown, type: unknown): unknown {
  if (typeof value !== 'string') return value
  if (type === 'integer' && INTEGER_TEXT.test(value) && Number.isSafeInteger(Number(value))) return Number(value)
  if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true'
  return value
}

/**
 * Compiled on a route's first request, not at start: a control plane serves few of its routes in most
 * runs, and compiling every validator at start was an eighth of it. The fuzz test sends every route
 * something, so a schema ajv cannot compile still fails the suite.
 */
export const validatorCompiler: FastifySchemaCompiler<FastifySchema> = (route) => {
  type Compiled = ReturnType<typeof compile>
  let compiled: Compiled | undefined
  const properties = route.httpPart === 'body' ? undefined : ((route.schema as {properties?: Record<string, {type?: unknown}>}).properties ?? {})
  const validate = (data: unknown) => {
    compiled ??= compile(route)
    if (properties && data && typeof data === 'object') {
      const fields = data as Record<string, unknown>
      for (const [key, schema] of Object.entries(properties)) if (key in fields) fields[key] = readText(fields[key], schema.type)
    }
    const valid = compiled(data) as boolean // no schema here is async
    validate.errors = compiled.errors
    return valid
  }
  validate.errors = undefined as Compiled['errors']
  return validate
}

/** Friendlier words for the patterns the API states once in domain.ts. */
const PATTERN_RULES = new Map([
  [NAME_PATTERN.source, `is not a valid name: ${NAME_RULE}`],
  [VERSION_PATTERN.source, `is not a valid version: ${VERSION_RULE}`],
])

interface Issue {
  instancePath: string
  keyword: string
  message?: string
  params: {allowedValues?: unknown[]; additionalProperty?: string; missingProperty?: string; pattern?: string}
}

function describeIssue(context: string, issue: Issue): {path: string; message: string} {
  const {params} = issue
  const base = `${context}${issue.instancePath}`
  if (params.additionalProperty) return {path: `${base}/${params.additionalProperty}`, message: 'is not a known property'}
  if (params.missingProperty) return {path: `${base}/${params.missingProperty}`, message: 'is required'}
  if (params.allowedValues) return {path: base, message: `must be one of: ${params.allowedValues.join(', ')}`}
  if (issue.keyword === 'pattern' && params.pattern && PATTERN_RULES.has(params.pattern)) return {path: base, message: PATTERN_RULES.get(params.pattern) as string}
  return {path: base, message: issue.message ?? 'is not valid'}
}

/** The error body of a request that failed its schema: `body/dryRun: must be boolean`, with details. */
export function validationErrorBody(error: FastifyError): ErrorBody {
  const context = error.validationContext ?? 'request'
  const details = (error.validation ?? []).map((issue) => describeIssue(context, issue as Issue))
  return {
    error: {
      code: 'invalid_input',
      message: details.map((detail) => `${detail.path}: ${detail.message}`).join('; ') || error.message,
      hint: 'fix the value at that path; the API schema is at /openapi.json',
      details,
    },
  }
}

/** Refusals fastify makes before a route is chosen (a bad percent-encoding, an over-long path segment). */
export function frameworkErrorBody(error: FastifyError): ErrorBody {
  const message =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path segment is too long: names have at most 63 characters, ids are numbers' : 'the URL is malformed (a bad percent-encoding?)'
  return {error: {code: 'invalid_input', message, hint: 'encode each path segment with encodeURIComponent; the API schema is at /openapi.json'}}
}
