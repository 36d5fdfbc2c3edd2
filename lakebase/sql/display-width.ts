// How wide text is on a fixed-width screen (a terminal, a notebook's monospace `text/plain`
// output), so that table columns and error carets line up under multibyte text.
//
// Written here rather than taken from `string-width`: that package and its helpers are ESM-only,
// while this project is emitted as CommonJS and also loaded inside tslab; the rules needed are
// small. They follow wcwidth as psql uses it (libpq `pg_encoding_dsplen`): combining marks and
// zero-width format characters take no column, East Asian wide and fullwidth characters and emoji
// shown as pictures take two, everything else one. A grapheme cluster (an emoji ZWJ sequence, a
// letter with combining accents) takes the width of its widest member, never their sum.

const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]$/u;
const EMOJI_PRESENTATION = /^\p{Emoji_Presentation}$/u;
const EMOJI_VARIATION_SELECTOR = '\uFE0F';

/** East Asian Wide (W) and Fullwidth (F) blocks (Unicode UAX #11), as inclusive code point pairs. */
const WIDE_RANGES: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f], // Hangul Jamo initial consonants
  [0x2e80, 0x303e], // CJK radicals, Kangxi, ideographic description, CJK symbols and punctuation
  [0x3041, 0x33ff], // Hiragana, Katakana, Bopomofo, Hangul compatibility Jamo, CJK compatibility
  [0x3400, 0x4dbf], // CJK unified ideographs extension A
  [0x4e00, 0x9fff], // CJK unified ideographs
  [0xa000, 0xa4cf], // Yi
  [0xa960, 0xa97f], // Hangul Jamo extended A
  [0xac00, 0xd7a3], // Hangul syllables
  [0xf900, 0xfaff], // CJK compatibility ideographs
  [0xfe10, 0xfe19], // vertical forms
  [0xfe30, 0xfe6f], // CJK compatibility forms, small form variants
  [0xff00, 0xff60], // fullwidth forms
  [0xffe0, 0xffe6], // fullwidth signs
  [0x16fe0, 0x16fe4],
  [0x17000, 0x18cff], // Tangut
  [0x1b000, 0x1b2ff], // Kana supplement, Nushu
  [0x1f200, 0x1f2ff], // enclosed ideographic supplement
  [0x20000, 0x2fffd], // CJK extensions B..F
  [0x30000, 0x3fffd], // CJK extension G and later
];

function isWide(codePoint: number): boolean {
  for (const [low, high] of WIDE_RANGES) {
    if (codePoint < low) return false;
    if (codePoint <= high) return true;
  }
  return false;
}

/** Columns one code point takes: 0, 1 or 2. Control characters count as 1 (callers replace them). */
export function codePointWidth(codePoint: number): 0 | 1 | 2 {
  if (codePoint < 0x300) return codePoint === 0xad ? 0 : 1; // Latin: no marks, no wide characters
  if (isWide(codePoint)) return 2;
  const char = String.fromCodePoint(codePoint);
  if (ZERO_WIDTH.test(char)) return 0;
  return EMOJI_PRESENTATION.test(char) ? 2 : 1;
}

/**
 * Characters that join their neighbours into one grapheme cluster (marks, ZWJ, variation
 * selectors, emoji modifiers, regional indicator pairs, Hangul vowel and final Jamo, tags).
 * Text without them can be measured code point by code point, much faster than segmenting it.
 */
const JOINING = /[\p{M}\u200d\ufe00-\ufe0f\u1160-\u11ff\u{1f3fb}-\u{1f3ff}\u{1f1e6}-\u{1f1ff}\u{e0020}-\u{e007f}]/u;

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Columns one grapheme cluster takes. */
function graphemeWidth(grapheme: string): number {
  let width = 0;
  for (const char of grapheme) width = Math.max(width, codePointWidth(char.codePointAt(0)!));
  // "❤️" is a one-column symbol turned into a two-column picture by the emoji variation selector.
  if (width === 1 && grapheme.includes(EMOJI_VARIATION_SELECTOR)) width = 2;
  return width;
}

/**
 * True when every character takes exactly one column on its own: printable ASCII and Latin
 * letters before the combining marks (U+0300). Then width is length, the common fast case.
 */
function isOneColumnEach(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x20 || (unit >= 0x7f && unit < 0xa0) || unit === 0xad || unit >= 0x300) return false;
  }
  return true;
}

/** Columns `text` takes on one line of a fixed-width screen. `text` must not contain newlines. */
export function displayWidth(text: string): number {
  if (isOneColumnEach(text)) return text.length;
  let width = 0;
  if (!JOINING.test(text)) {
    for (const char of text) width += codePointWidth(char.codePointAt(0)!);
    return width;
  }
  for (const { segment } of graphemes.segment(text)) width += graphemeWidth(segment);
  return width;
}

/** Splits `text` into grapheme clusters with their widths, for cutting text at a column. */
export function graphemeWidths(text: string): { grapheme: string; width: number }[] {
  if (!JOINING.test(text)) {
    return Array.from(text, (char) => ({ grapheme: char, width: codePointWidth(char.codePointAt(0)!) }));
  }
  return Array.from(graphemes.segment(text), ({ segment }) => ({
    grapheme: segment,
    width: graphemeWidth(segment),
  }));
}
