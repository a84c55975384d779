/**
 * The Temporal Web UI renders a workflow's summary, details and current details as markdown, so an id such as
 * `wh_ab_cd_` would lose its underscores to emphasis. Text Herald puts there goes through `markdownText`,
 * which backslash-escapes the characters that could start inline markup (CommonMark renders `\_` as `_`).
 * Pure: workflow code uses it too.
 */
const INLINE_MARKUP = /[\\`*_[\]<>~|]/g;

export function markdownText(text: string): string {
  return text.replace(INLINE_MARKUP, '\\$&');
}
