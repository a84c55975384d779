import { html as honoHtml, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

/**
 * The one way the operator page writes HTML: hono/html's tagged template, which escapes every interpolated
 * string (`& < > " '`) unless it is itself a template result. Narrowed here so a template can interpolate only
 * text, numbers, other templates and lists of them — an object would render as "[object Object]", a promise
 * would make the page asynchronous — and so the result is always a plain string.
 */
export type Html = HtmlEscapedString;

export type Interpolation = string | number | boolean | null | undefined | Html | readonly Interpolation[];

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): Html {
  const out = honoHtml(strings, ...values);
  if (out instanceof Promise) throw new TypeError('operator page templates must not interpolate promises');
  return out;
}

/** Markup that is already safe because this file's callers built it from constants (never from data). */
export function trusted(markup: string): Html {
  return raw(markup);
}
