/**
 * Addresses inside the operator page. Every path segment and query value is URL-encoded here, so an id can
 * never change where a link goes; the templates then HTML-escape the whole address.
 */

/** `/ui/<path>?k=v…`, leaving out parameters that are unset or empty. */
export function uiHref(path: string, params: Record<string, string | undefined> = {}): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') query.set(key, value);
  const text = query.toString();
  return `/ui/${path}${text ? `?${text}` : ''}`;
}

export function deliveryHref(id: string, params: Record<string, string | undefined> = {}): string {
  return uiHref(`deliveries/${encodeURIComponent(id)}`, params);
}

/**
 * Where to go after logging in: only a page of the operator page itself (a path under /ui), so the login
 * form cannot be used to send someone elsewhere.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || !/^\/ui(\/[^\\]*)?(\?[^\\]*)?$/.test(next) || next.startsWith('/ui/login')) return '/ui/deliveries';
  return next;
}
