/**
 * How deep a GraphQL document nests, measured on its text before it is parsed: graphql-js parses
 * list and object values, list types and selection sets recursively, and a document a few thousand
 * levels deep overflows the stack inside the parser (a RangeError, a 500), long before any
 * validation rule could look at it. A single pass over the characters, without recursion.
 */

/** The deepest nesting of a document's values and of its selection sets. */
export interface DocumentNesting {
  /**
   * List and object values (`[[1]]`, `{a: {b: 1}}`) and list types (`[[Int]]`) inside one another:
   * an argument's `{` counts, and everything nested in it.
   */
  values: number;
  /** Selection sets inside one another (`{ a { b } }` is 2), inline fragments included. */
  selections: number;
}

const OPEN_BRACE = 0x7b; // {
const CLOSE_BRACE = 0x7d; // }
const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACKET = 0x5d; // ]
const OPEN_PAREN = 0x28; // (
const CLOSE_PAREN = 0x29; // )
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \
const HASH = 0x23; // #
const COLON = 0x3a; // :
const EQUALS = 0x3d; // =
const NEWLINE = 0x0a;
const RETURN = 0x0d;

/** Kinds of open brackets on the stack. */
const VALUE = 1;
const SELECTION = 2;
const ARGUMENTS = 3;

/**
 * The nesting of `source`. A `{` opens an object value when it follows `:` or `=` (an argument, a
 * field of an object value, a default) or sits in a list or object value; otherwise it opens a
 * selection set. Strings, block strings and comments are skipped. Text the parser will refuse anyway
 * (an unterminated string, a stray bracket) ends the count early: the parser reports it.
 */
export function documentNesting(source: string): DocumentNesting {
  const stack: number[] = [];
  let values = 0;
  let selections = 0;
  let maxValues = 0;
  let maxSelections = 0;
  /** The last significant character: whitespace, commas and comments are not. */
  let previous = 0;
  const length = source.length;
  for (let at = 0; at < length; at++) {
    const code = source.charCodeAt(at);
    switch (code) {
      case QUOTE: {
        const end = source.startsWith('"""', at) ? blockStringEnd(source, at + 3) : stringEnd(source, at + 1);
        if (end < 0) return { values: maxValues, selections: maxSelections };
        at = end;
        previous = QUOTE;
        continue;
      }
      case HASH: {
        while (at < length && source.charCodeAt(at) !== NEWLINE && source.charCodeAt(at) !== RETURN) at++;
        continue;
      }
      case OPEN_BRACKET: {
        stack.push(VALUE);
        if (++values > maxValues) maxValues = values;
        break;
      }
      case OPEN_BRACE: {
        const top = stack.length ? stack[stack.length - 1] : 0;
        if (previous === COLON || previous === EQUALS || top === VALUE) {
          stack.push(VALUE);
          if (++values > maxValues) maxValues = values;
        } else {
          stack.push(SELECTION);
          if (++selections > maxSelections) maxSelections = selections;
        }
        break;
      }
      case OPEN_PAREN:
        stack.push(ARGUMENTS);
        break;
      case CLOSE_BRACKET:
      case CLOSE_BRACE:
      case CLOSE_PAREN: {
        const kind = stack.pop();
        if (kind === undefined) return { values: maxValues, selections: maxSelections };
        if (kind === VALUE) values--;
        else if (kind === SELECTION) selections--;
        break;
      }
      default:
        // Whitespace, commas and byte order marks are insignificant.
        if (code === 0x20 || code === 0x09 || code === NEWLINE || code === RETURN || code === 0x2c || code === 0xfeff) continue;
    }
    previous = code;
  }
  return { values: maxValues, selections: maxSelections };
}

/** The index of the quote closing a string that starts at `from`, or -1. */
function stringEnd(source: string, from: number): number {
  for (let at = from; at < source.length; at++) {
    const code = source.charCodeAt(at);
    if (code === BACKSLASH) at++;
    else if (code === QUOTE) return at;
    else if (code === NEWLINE || code === RETURN) return -1;
  }
  return -1;
}

/** The index of the last quote of the `"""` closing a block string whose text starts at `from`, or -1. */
function blockStringEnd(source: string, from: number): number {
  for (let at = from; at < source.length; at++) {
    const code = source.charCodeAt(at);
    if (code === BACKSLASH && source.startsWith('"""', at + 1)) at += 3;
    else if (code === QUOTE && source.startsWith('"""', at)) return at + 2;
  }
  return -1;
}
