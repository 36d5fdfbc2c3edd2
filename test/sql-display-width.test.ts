import { expect, test } from 'vitest';
import { displayWidth } from '../lakebase/sql/display-width';

test.each([
  ['ASCII', 'hello', 5],
  ['accented (precomposed)', 'Zürich', 6],
  ['accented (combining mark)', 'Zu\u0308rich', 6],
  ['CJK ideographs', '東京', 4],
  ['Hangul', '한국', 4],
  ['fullwidth forms', 'ＡＢ', 4],
  ['emoji', '👍', 2],
  ['emoji with skin tone (one grapheme)', '👍🏽', 2],
  ['ZWJ family (one grapheme)', '👨‍👩‍👧', 2],
  ['heart with emoji presentation selector', '❤️', 2],
  ['zero-width space', 'a\u200bb', 2],
  ['empty', '', 0],
])('%s', (_name, text, width) => {
  expect(displayWidth(text)).toBe(width);
});
