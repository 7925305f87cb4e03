import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, extname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'

/**
 * The documents must hold up in any clone: every Markdown link points to a file (and heading)
 * inside the repository, and no file names the workspace folder the project was started from,
 * which a clone does not have.
 */

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
/** Generated, installed or local-only folders: not part of a clone's documents. */
const SKIPPED_FOLDERS = new Set(['node_modules', 'dist', 'coverage', '.data', '.git'])
const TEXT_EXTENSIONS = new Set(['.md', '.ts', '.js', '.cjs', '.mjs', '.json', '.yaml', '.yml'])
/**
 * Paths into the workspace folder outside the repository, and the names of the documents kept
 * there, which docs/contract.md and docs/domain.md replace (this file is not searched).
 */
const OUTSIDE_PATTERNS = [
  /\.\.\/shared\//,
  /\/work\/shared\b/,
  /\bconax-ws-contract\.md\b/,
  /\bconax-domain\.md\b/,
  /\bstyle-anchors\b/,
]

/** Every file under `root` with one of `extensions`, skipping generated folders. */
function filesUnder(root: string, extensions: ReadonlySet<string>): string[] {
  const found: string[] = []
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) {
        if (!SKIPPED_FOLDERS.has(entry.name)) {
          walk(path)
        }
      } else if (entry.isFile() && extensions.has(extname(entry.name))) {
        found.push(path)
      }
    }
  }
  walk(root)
  return found.sort()
}

/** The text outside fenced code blocks, line by line (fenced lines become empty). */
function proseLines(markdown: string): string[] {
  let fence: string | null = null
  return markdown.split('\n').map((line) => {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1]
    if (fence === null && marker) {
      fence = marker
      return ''
    }
    if (fence !== null) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) {
        fence = null
      }
      return ''
    }
    return line
  })
}

/** A line without its code spans, so that `[a](b)` shown as code is not taken for a link. */
function withoutCodeSpans(line: string): string {
  return line.replace(/(`+)[\s\S]*?\1/g, (span) => ' '.repeat(span.length))
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function headingSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/[`*]/g, '')
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-')
}

/** The anchors a Markdown document offers: its headings' slugs (numbered when repeated) and HTML ids. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  for (const line of proseLines(markdown)) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1]
    if (heading !== undefined) {
      const slug = headingSlug(heading)
      const count = seen.get(slug) ?? 0
      anchors.add(count === 0 ? slug : `${slug}-${count}`)
      seen.set(slug, count + 1)
    }
    for (const match of line.matchAll(/<a\s[^>]*(?:id|name)="([^"]+)"/g)) {
      anchors.add(match[1] as string)
    }
  }
  return anchors
}

/**
 * The link targets of a Markdown document (inline links, images and reference definitions), with
 * the line each starts on. Paragraphs are read whole, so a link whose text wraps is found too.
 */
function linkTargets(markdown: string): { line: number; target: string }[] {
  const targets: { line: number; target: string }[] = []
  const lines = proseLines(markdown)
  const inline = /!?\[(?:[^[\]]|\[[^[\]]*\])*\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+"[^"]*")?\s*\)/g
  let start = 0
  while (start < lines.length) {
    let end = start
    while (end < lines.length && (lines[end] as string).trim() !== '') {
      end++
    }
    const block = withoutCodeSpans(lines.slice(start, end).join('\n'))
    for (const match of block.matchAll(inline)) {
      const line = start + 1 + (block.slice(0, match.index).match(/\n/g)?.length ?? 0)
      targets.push({ line, target: (match[1] as string).replace(/^<|>$/g, '') })
    }
    block.split('\n').forEach((text, offset) => {
      const definition = /^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(text)?.[1]
      if (definition !== undefined) {
        targets.push({ line: start + offset + 1, target: definition.replace(/^<|>$/g, '') })
      }
    })
    start = Math.max(end, start + 1)
  }
  return targets.sort((a, b) => a.line - b.line)
}

/** What is wrong with one link of `file`, or null: a missing file or heading, or a path outside `root`. */
function linkProblem(root: string, file: string, target: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
    return null
  }
  const hashAt = target.indexOf('#')
  const pathPart = decodeURI(hashAt === -1 ? target : target.slice(0, hashAt))
  const anchor = hashAt === -1 ? null : decodeURIComponent(target.slice(hashAt + 1))
  if (pathPart.startsWith('/')) {
    return 'is an absolute path; link relative to the file'
  }
  const resolved = pathPart === '' ? file : resolve(dirname(file), pathPart)
  const inside = relative(root, resolved)
  if (inside === '..' || inside.startsWith(`..${sep}`)) {
    return 'points outside the repository'
  }
  if (!existsSync(resolved)) {
    return 'points to a missing file'
  }
  if (anchor !== null && anchor !== '' && statSync(resolved).isFile() && resolved.endsWith('.md')) {
    if (!anchorsOf(readFileSync(resolved, 'utf8')).has(anchor)) {
      return `names a heading '#${anchor}' that ${relative(root, resolved)} does not have`
    }
  }
  return null
}

/** Every broken Markdown link under `root`, as `file:line: target problem`. */
function brokenLinks(root: string): string[] {
  const problems: string[] = []
  for (const file of filesUnder(root, new Set(['.md']))) {
    for (const { line, target } of linkTargets(readFileSync(file, 'utf8'))) {
      const problem = linkProblem(root, file, target)
      if (problem) {
        problems.push(`${relative(root, file)}:${line}: ${target} ${problem}`)
      }
    }
  }
  return problems
}

/** Every line under `root` that names the workspace folder or a document kept there. */
function outsideReferences(root: string): string[] {
  const self = fileURLToPath(import.meta.url)
  const found: string[] = []
  for (const file of filesUnder(root, TEXT_EXTENSIONS)) {
    if (file === self || file.endsWith('package-lock.json')) {
      continue
    }
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((text, index) => {
        if (OUTSIDE_PATTERNS.some((pattern) => pattern.test(text))) {
          found.push(`${relative(root, file)}:${index + 1}: ${text.trim()}`)
        }
      })
  }
  return found
}

describe('the repository documents', () => {
  it('link only to files and headings inside the repository', () => {
    expect(brokenLinks(REPO_ROOT)).toEqual([])
  })

  it('never name the workspace folder or the documents left outside the repository', () => {
    expect(outsideReferences(REPO_ROOT)).toEqual([])
  })
})

describe('the link check', () => {
  let scratch: string | null = null
  afterEach(() => {
    if (scratch) {
      rmSync(scratch, { recursive: true, force: true })
      scratch = null
    }
  })

  /** A scratch repository holding the given files. */
  function repo(files: Record<string, string>): string {
    scratch = mkdtempSync(join(tmpdir(), 'docs-links-'))
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(scratch, path)), { recursive: true })
      writeFileSync(join(scratch, path), text)
    }
    return scratch
  }

  it('reports missing files, missing headings, absolute paths and paths outside the repository', () => {
    const root = repo({
      'docs/a.md': '# Title\n\n## 2.1 The `x` part (y)\n',
      'sub/README.md': [
        '[ok](../docs/a.md) [ok](../docs/a.md#21-the-x-part-y) [ok](#here) [web](https://x.y/z)',
        '[missing, its text wrapped',
        'over two lines](../docs/b.md)',
        '[no heading](../docs/a.md#nope)',
        '[outside](../../elsewhere/c.md)',
        '[absolute](/docs/a.md)',
        '`[code](not/a/link.md)`',
        '```',
        '[fenced](not/a/link.md)',
        '```',
        '[ref]: ../docs/gone.md',
        '## Here',
      ].join('\n'),
    })
    expect(brokenLinks(root)).toEqual([
      'sub/README.md:2: ../docs/b.md points to a missing file',
      "sub/README.md:4: ../docs/a.md#nope names a heading '#nope' that docs/a.md does not have",
      'sub/README.md:5: ../../elsewhere/c.md points outside the repository',
      'sub/README.md:6: /docs/a.md is an absolute path; link relative to the file',
      'sub/README.md:11: ../docs/gone.md points to a missing file',
    ])
  })

  it('finds a path into the workspace folder in code and data files', () => {
    const outside = ['..', 'shared', 'seed', 'x.txt'].join('/')
    const root = repo({
      'src/a.ts': `// see ${outside}\nexport const a = 1\n`,
      'fixtures/b.yaml': 'name: fine\n',
      'node_modules/c/README.md': `${outside}\n`,
    })
    expect(outsideReferences(root)).toEqual([`src/a.ts:1: // see ${outside}`])
  })

  it('numbers the anchors of repeated headings as GitHub does', () => {
    expect([...anchorsOf('# A\n## Notes\n### Notes\n## Real devices (`--devices`)\n')]).toEqual([
      'a',
      'notes',
      'notes-1',
      'real-devices---devices',
    ])
  })
})
