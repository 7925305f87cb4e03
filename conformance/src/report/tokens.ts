/**
 * Which parts of two diverging lines differ. A line (`ADD_SUBSCRIPTIONS smartcardCaId=01450250001
 * serviceCaId=PFA2 distributor=Main → COMPLETED`) is cut into tokens: the space-separated parts
 * (a quoted value such as `message="Hello world"` stays one token) and the `→ STATE` tail. The
 * tokens both lines share, in order, are left alone; every other token is marked.
 */

/** A piece of a line: a token or the spaces between two. Joined, the pieces give the line back. */
export interface Piece {
  readonly text: string
  /** True for a token the other line does not have at that place. */
  readonly differs: boolean
}

/** The two lines of a diff row, each cut into pieces with the differing tokens flagged. */
export interface MarkedRow {
  readonly expected: readonly Piece[]
  readonly actual: readonly Piece[]
}

// Above this many comparisons the ordered comparison would cost too much memory (a hostile line of
// thousands of tokens); tokens are then matched by occurrence count instead.
const MAX_TABLE_CELLS = 1_000_000

const TAIL = '→'

interface Part {
  readonly text: string
  readonly token: boolean
}

/** The tokens of a line: its space-separated parts, quoted values whole, the `→ STATE` tail as one. */
export function tokensOf(line: string): string[] {
  return partsOf(line)
    .filter((part) => part.token)
    .map((part) => part.text)
}

/** Both lines cut into pieces; a missing line (no counterpart in that row) is an empty one. */
export function markRow(expected: string | undefined, actual: string | undefined): MarkedRow {
  const left = partsOf(expected ?? '')
  const right = partsOf(actual ?? '')
  const leftTokens = left.filter((part) => part.token).map((part) => part.text)
  const rightTokens = right.filter((part) => part.token).map((part) => part.text)
  const [keepLeft, keepRight] = shared(leftTokens, rightTokens)
  return { expected: piecesOf(left, keepLeft), actual: piecesOf(right, keepRight) }
}

function piecesOf(parts: readonly Part[], keep: readonly boolean[]): Piece[] {
  let token = 0
  return parts.map((part) => {
    if (!part.token) {
      return { text: part.text, differs: false }
    }
    const differs = keep[token] !== true
    token += 1
    return { text: part.text, differs }
  })
}

/**
 * Splits on runs of spaces, outside double quotes (values are rendered as JSON strings when they
 * hold anything but plain characters, so `\"` inside them does not end the quote). From a token
 * that is exactly `→`, the rest of the line is one token: `→ REJECTED (70001)`.
 */
function partsOf(line: string): Part[] {
  const chars = Array.from(line)
  const parts: Part[] = []
  let index = 0
  while (index < chars.length) {
    const start = index
    if (chars[index] === ' ') {
      while (index < chars.length && chars[index] === ' ') {
        index += 1
      }
      parts.push({ text: chars.slice(start, index).join(''), token: false })
      continue
    }
    let quoted = false
    while (index < chars.length && (quoted || chars[index] !== ' ')) {
      const char = chars[index]
      if (quoted && char === '\\') {
        index += 1
      } else if (char === '"') {
        quoted = !quoted
      }
      index += 1
    }
    const text = chars.slice(start, Math.min(index, chars.length)).join('')
    if (text === TAIL) {
      parts.push({ text: chars.slice(start).join(''), token: true })
      break
    }
    parts.push({ text, token: true })
  }
  return parts
}

/**
 * For each token of each side, whether it belongs to the longest common subsequence of the two
 * token lists (computed between the common prefix and suffix, which are kept as they are).
 */
function shared(left: readonly string[], right: readonly string[]): [boolean[], boolean[]] {
  const keepLeft = left.map(() => false)
  const keepRight = right.map(() => false)
  let head = 0
  while (head < left.length && head < right.length && left[head] === right[head]) {
    keepLeft[head] = true
    keepRight[head] = true
    head += 1
  }
  let tail = 0
  while (
    tail < left.length - head &&
    tail < right.length - head &&
    left[left.length - 1 - tail] === right[right.length - 1 - tail]
  ) {
    keepLeft[left.length - 1 - tail] = true
    keepRight[right.length - 1 - tail] = true
    tail += 1
  }
  const a = left.slice(head, left.length - tail)
  const b = right.slice(head, right.length - tail)
  const [inA, inB] =
    (a.length + 1) * (b.length + 1) <= MAX_TABLE_CELLS ? commonSubsequence(a, b) : byCount(a, b)
  inA.forEach((keep, i) => {
    keepLeft[head + i] = keep
  })
  inB.forEach((keep, i) => {
    keepRight[head + i] = keep
  })
  return [keepLeft, keepRight]
}

function commonSubsequence(a: readonly string[], b: readonly string[]): [boolean[], boolean[]] {
  const width = b.length + 1
  // lengths[i * width + j]: length of the longest common subsequence of a[i..] and b[j..].
  const lengths = new Uint32Array((a.length + 1) * width)
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      lengths[i * width + j] =
        a[i] === b[j]
          ? (lengths[(i + 1) * width + j + 1] ?? 0) + 1
          : Math.max(lengths[(i + 1) * width + j] ?? 0, lengths[i * width + j + 1] ?? 0)
    }
  }
  const inA = a.map(() => false)
  const inB = b.map(() => false)
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      inA[i] = true
      inB[j] = true
      i += 1
      j += 1
    } else if ((lengths[(i + 1) * width + j] ?? 0) >= (lengths[i * width + j + 1] ?? 0)) {
      i += 1
    } else {
      j += 1
    }
  }
  return [inA, inB]
}

/** A token is shared when the other side has as many of it left, whatever the order. */
function byCount(a: readonly string[], b: readonly string[]): [boolean[], boolean[]] {
  const count = (tokens: readonly string[]): Map<string, number> => {
    const counts = new Map<string, number>()
    for (const token of tokens) {
      counts.set(token, (counts.get(token) ?? 0) + 1)
    }
    return counts
  }
  const take = (tokens: readonly string[], other: Map<string, number>): boolean[] =>
    tokens.map((token) => {
      const left = other.get(token) ?? 0
      other.set(token, left - 1)
      return left > 0
    })
  return [take(a, count(b)), take(b, count(a))]
}
