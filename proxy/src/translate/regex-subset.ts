/**
 * Whether a PostgreSQL regular expression (ARE, the `~` family) lies in a subset where
 * ClickHouse's re2 (`match`) accepts exactly the same strings. Outside the subset the
 * condition stays in PostgreSQL: that is always correct, only slower.
 *
 * The subset, and why each part agrees:
 * - ASCII only, printable. Literal characters that are special in neither dialect.
 * - `\` before a punctuation character: that character, literally, in both. No other
 *   escapes: `\d \w \s \b \m \y` and back-references differ (PostgreSQL's classes
 *   follow the locale and `\b` is a backspace there, re2's are ASCII and `\b` a word
 *   boundary).
 * - `.`: any one character, newline included, in both (ARE without newline-sensitive
 *   mode; ClickHouse's match sets dot-matches-newline: match('a\nb', 'a.b') is 1).
 * - `^` at the start and `$` at the end of a branch: start and end of the whole string in
 *   both (re2 without multi-line mode does not match `$` before a final newline).
 * - `*`, `+`, `?` once after an atom. Whether a match exists does not depend on
 *   greediness, so non-greedy forms would agree too, but they are left out with bounds
 *   `{m,n}` (different limits: 255 in PostgreSQL, 1000 in re2).
 * - Bracket classes `[...]` / `[^...]` of letters, digits and a few punctuation
 *   characters, with ranges inside a-z, A-Z or 0-9; no `[:class:]`, `[.x.]`, `[=x=]`,
 *   escapes or `-`/`]` literals (their placement rules differ).
 * - Alternation `|` and groups `(…)` with non-empty branches; no `(?…)` (options,
 *   look-around, non-capturing), no leading `***` directors.
 */
export function isPortableRegex(pattern: string): boolean {
  if (pattern.length === 0 || pattern.length > MAX_LENGTH || !/^[\x20-\x7e]*$/.test(pattern)) return false;
  const p = new Parser(pattern);
  return p.alternation(0) && p.at === pattern.length;
}

const MAX_LENGTH = 1000;
const MAX_DEPTH = 32;
/** Characters special in one dialect or the other (ARE or re2), never literals here. */
const META = new Set([...'\\.^$|?*+()[]{}']);
/** Characters a backslash may make literal. */
const ESCAPABLE = new Set([...'\\.^$|?*+()[]{}/-']);
const CLASS_CHAR = /^[A-Za-z0-9 _,.:;/=!@#%&~<>'"`*+?(){}|$]$/;

class Parser {
  at = 0;
  constructor(private readonly s: string) {}

  private peek(): string | undefined {
    return this.s[this.at];
  }

  /** branch ('|' branch)* */
  alternation(depth: number): boolean {
    if (depth > MAX_DEPTH) return false;
    if (!this.branch(depth)) return false;
    while (this.peek() === '|') {
      this.at++;
      if (!this.branch(depth)) return false;
    }
    return true;
  }

  /** '^'? piece+ '$'? — never empty. */
  private branch(depth: number): boolean {
    if (this.peek() === '^') this.at++;
    let pieces = 0;
    while (this.at < this.s.length && this.peek() !== '|' && this.peek() !== ')') {
      if (this.peek() === '$') {
        this.at++;
        const next = this.peek();
        return pieces > 0 && (next === undefined || next === '|' || next === ')');
      }
      if (!this.atom(depth)) return false;
      const q = this.peek();
      if (q === '*' || q === '+' || q === '?') this.at++;
      pieces++;
    }
    return pieces > 0;
  }

  private atom(depth: number): boolean {
    const c = this.peek();
    if (c === undefined) return false;
    if (c === '(') {
      this.at++;
      if (this.peek() === '?' || this.peek() === '*') return false;
      if (!this.alternation(depth + 1) || this.peek() !== ')') return false;
      this.at++;
      return true;
    }
    if (c === '[') return this.bracket();
    if (c === '\\') {
      const e = this.s[this.at + 1];
      if (e === undefined || !ESCAPABLE.has(e)) return false;
      this.at += 2;
      return true;
    }
    if (c === '.') {
      this.at++;
      return true;
    }
    if (META.has(c)) return false;
    this.at++;
    return true;
  }

  /** '[' '^'? item+ ']' where item is a class character or a range within a-z, A-Z or 0-9. */
  private bracket(): boolean {
    this.at++;
    if (this.peek() === '^') this.at++;
    let items = 0;
    while (this.peek() !== ']') {
      const c = this.peek();
      if (c === undefined || !CLASS_CHAR.test(c)) return false;
      if (this.s[this.at + 1] === '-') {
        const hi = this.s[this.at + 2];
        if (hi === undefined || !sameRangeFamily(c, hi) || hi < c) return false;
        this.at += 3;
      } else this.at++;
      items++;
    }
    this.at++;
    return items > 0;
  }
}

function sameRangeFamily(a: string, b: string): boolean {
  return [/[a-z]/, /[A-Z]/, /[0-9]/].some((r) => r.test(a) && r.test(b));
}
