import { readFile } from 'node:fs/promises'
import { parseDocument, visit, type Document } from 'yaml'
import type { ProvisioningProvider } from '../domain/crm.js'
import { ConfigError, type ConfigIssue, type ConfigLocation } from './config-error.js'
import { plainWords, toConfigIssues } from './describe-issues.js'
import { PROVIDER_FIELD_NAMES, providerSchema } from './provider-schema.js'

type FileFormat = 'YAML' | 'JSON'

const FORMATS: Readonly<Record<string, FileFormat>> = {
  '.yaml': 'YAML',
  '.yml': 'YAML',
  '.json': 'JSON',
}

const EXAMPLE = 'fixtures/scenarios/providers/conax-ws.yaml'

/**
 * Alias expansions allowed in a provider file (the yaml package counts each alias times the
 * aliases inside what it names). A provider needs few if any; a billion-laughs file of a few lines
 * would otherwise expand to millions of nodes.
 */
export const MAX_YAML_ALIASES = 50

interface Problem {
  readonly reason: string
  readonly hint: string
  readonly location?: ConfigLocation | null
  readonly cause?: unknown
  /** The hint follows on the same line: the whole error is one line. */
  readonly oneLine?: boolean
}

function unreadable(file: string, problem: Problem): ConfigError {
  const where = problem.location
    ? ` (line ${problem.location.line}, column ${problem.location.column})`
    : ''
  const issues: ConfigIssue[] = [{ path: '', rule: `${problem.reason}${where}` }]
  return new ConfigError(
    'CONFIG_UNREADABLE',
    `Cannot read the provisioning provider file ${file}: ${problem.reason}${where}.${problem.oneLine === true ? ' ' : '\n'}${problem.hint}`,
    { issues, location: problem.location, cause: problem.cause },
  )
}

function formatOf(file: string): FileFormat {
  const extension = /\.[^./\\]*$/.exec(file)?.[0].toLowerCase() ?? ''
  const format = FORMATS[extension]
  if (format === undefined) {
    throw unreadable(file, {
      reason: `its extension ${extension === '' ? '(none)' : extension} is not one this loader reads`,
      hint: 'Use a .yaml, .yml or .json file.',
    })
  }
  return format
}

function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    return typeof error.code === 'string' ? error.code : undefined
  }
  return undefined
}

function readFailure(error: unknown): Problem {
  const code = errorCode(error)
  switch (code) {
    case 'ENOENT':
      return {
        reason: 'the file does not exist',
        hint: `Check the path; a relative path starts from ${process.cwd()}.`,
        cause: error,
      }
    case 'EISDIR':
      return {
        reason: 'it is a directory',
        hint: 'Give the path of the provider file itself.',
        cause: error,
      }
    case 'EACCES':
    case 'EPERM':
      return {
        reason: 'permission was denied',
        hint: 'Make the file readable by the user running this process.',
        cause: error,
      }
    case undefined:
    default:
      return {
        reason: `it could not be read (${code ?? (error instanceof Error ? error.message : String(error))})`,
        hint: 'Check that the file is readable and try again.',
        cause: error,
      }
  }
}

async function readText(file: string): Promise<string> {
  try {
    // A BOM would make JSON.parse fail on the first character.
    return (await readFile(file, 'utf8')).replace(/^\uFEFF/, '')
  } catch (error) {
    throw unreadable(file, readFailure(error))
  }
}

// Shows the offending line (and the one before, where the real slip often is) with a caret.
function excerpt(text: string, location: ConfigLocation | null): string {
  const lines = text.split(/\r?\n/)
  const line = location === null ? undefined : lines[location.line - 1]
  if (location === null || line === undefined) {
    return ''
  }
  const width = String(location.line).length
  const numbered = (number: number, content: string) =>
    `    ${String(number).padStart(width)} | ${content}`
  const previous =
    location.line > 1 ? [numbered(location.line - 1, lines[location.line - 2] ?? '')] : []
  const caret = `    ${' '.repeat(width)} | ${' '.repeat(Math.max(0, location.column - 1))}^`
  return `\n${[...previous, numbered(location.line, line), caret].join('\n')}\n`
}

interface SyntaxFailure {
  readonly detail: string
  readonly location: ConfigLocation | null
  readonly cause: unknown
}

function syntaxProblem(format: FileFormat, text: string, failure: SyntaxFailure): Problem {
  return {
    reason: `it is not valid ${format}: ${failure.detail}`,
    location: failure.location,
    hint:
      failure.location === null
        ? `The ${format} parser gives no position for this error: find it, fix it and load the file again.`
        : `${excerpt(text, failure.location)}Fix the syntax there and load the file again.`,
    cause: failure.cause,
  }
}

function parseYaml(text: string, file: string): unknown {
  // logLevel error: keeps yaml's own console warnings out of the CLI's output.
  const document = parseDocument(text, { prettyErrors: true, logLevel: 'error' })
  const [first] = document.errors
  if (first === undefined) {
    return resolveAliases(document, text, file)
  }
  const position = first.linePos?.[0]
  const location = position ? { line: position.line, column: position.col } : null
  // prettyErrors appends " at line L, column C:" and an excerpt; we print our own.
  const detail = /^([\s\S]*?) at line \d+, column \d+/.exec(first.message)?.[1] ?? first.message
  throw unreadable(file, syntaxProblem('YAML', text, { detail, location, cause: first }))
}

/**
 * The document as plain values. Aliases are resolved only here, so an alias bomb and an alias
 * without its anchor fail here, refused at once with the first alias's position.
 */
function resolveAliases(document: Document, text: string, file: string): unknown {
  try {
    return document.toJS({ maxAliasCount: MAX_YAML_ALIASES })
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    let location: ConfigLocation | null = null
    visit(document, {
      Alias(_key, node) {
        const unresolved = node.resolve(document) === undefined
        if (node.range && (unresolved || location === null)) {
          location = offsetToLocation(text, node.range[0])
          if (unresolved) {
            return visit.BREAK
          }
        }
        return undefined
      },
    })
    const bomb = /alias count/i.test(message)
    throw unreadable(file, {
      reason: bomb
        ? `it is not valid YAML: its aliases expand to too many nodes (more than ${MAX_YAML_ALIASES} alias expansions), as in an alias bomb`
        : `it is not valid YAML: ${message.split('\n')[0] ?? message}`,
      location,
      hint: bomb
        ? 'Write the values out instead of repeating them through anchors and aliases.'
        : 'Define each anchor (&name) before the aliases (*name) that use it.',
      cause: error,
      oneLine: true,
    })
  }
}

function offsetToLocation(text: string, offset: number): ConfigLocation {
  const before = text.slice(0, offset)
  const line = before.split('\n').length
  return { line, column: offset - before.lastIndexOf('\n') }
}

// V8's messages vary by version: "at position N", "(line L column C)", or no position at all.
function jsonLocation(message: string, text: string): ConfigLocation | null {
  const lineColumn = /\(line (\d+) column (\d+)\)/.exec(message)
  if (lineColumn) {
    return { line: Number(lineColumn[1]), column: Number(lineColumn[2]) }
  }
  const position = /at position (\d+)/.exec(message)
  if (position) {
    return offsetToLocation(text, Number(position[1]))
  }
  return /end of JSON input/.test(message) ? offsetToLocation(text, text.length) : null
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    const location = jsonLocation(message, text)
    const detail = message
      .replace(/ in JSON at position \d+.*$/s, '')
      .replace(/ \(line \d+ column \d+\).*$/s, '')
      // Node 20 quotes a multi-line piece of the file here; the excerpt below does that better.
      .replace(/^(Unexpected token '.*?'), .* is not valid JSON$/s, '$1')
    throw unreadable(file, syntaxProblem('JSON', text, { detail, location, cause: error }))
  }
}

function invalid(source: string, issues: readonly ConfigIssue[]): ConfigError {
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`
  const lines = issues.map(
    (issue) => `  - ${issue.path === '' ? '(top level)' : issue.path}: ${issue.rule}`,
  )
  const message = [
    `The provisioning provider in ${source} is invalid (${count}):`,
    ...lines,
    `Correct ${issues.length === 1 ? 'it' : 'them'} in ${source} and load it again; ${EXAMPLE} is a complete example.`,
  ].join('\n')
  return new ConfigError('CONFIG_INVALID', message, { issues })
}

/**
 * Validates already-parsed provider data (from a file, a database or a test) and applies the
 * defaults. `source` names where the data came from in the error message. Throws a
 * {@link ConfigError} `CONFIG_INVALID` listing every broken rule.
 */
export function parseProvider(data: unknown, source: string): ProvisioningProvider {
  if (data === null || data === undefined) {
    throw invalid(source, [
      {
        path: '',
        rule: 'is empty: it must hold the provider fields (name, alternativeCode, lifeCycleState, connection, ...)',
      },
    ])
  }
  const result = providerSchema.safeParse(data, { error: plainWords })
  if (!result.success) {
    throw invalid(source, toConfigIssues(result.error.issues, PROVIDER_FIELD_NAMES))
  }
  return result.data
}

/**
 * Reads a provisioning provider file (`.yaml`, `.yml` or `.json`) and validates it. Throws a
 * {@link ConfigError}: `CONFIG_UNREADABLE` when the file is missing or not valid YAML/JSON (with
 * the line and column where the parser gives them), `CONFIG_INVALID` when a field breaks a rule.
 */
export async function loadProvider(file: string): Promise<ProvisioningProvider> {
  const format = formatOf(file)
  const text = await readText(file)
  const data = format === 'JSON' ? parseJson(text, file) : parseYaml(text, file)
  return parseProvider(data, file)
}
