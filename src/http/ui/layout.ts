import type { Caller } from '../auth.js';
import { html, trusted, type Html } from './html.js';
import { STYLESHEET } from './styles.js';

export type Section = 'webhooks' | 'deliveries';

export interface LayoutOptions {
  title: string;
  /** The signed-in operator; absent on the login and error pages of a visitor without a session. */
  session?: { caller: Caller; csrfToken: string };
  /** Which nav entry is the current page. */
  section?: Section;
  /** Reload the page after this many seconds (a delivery still in progress), without any script. */
  refreshSeconds?: number;
  body: Html;
}

export function callerLabel(caller: Caller): string {
  return caller.kind === 'admin' ? 'admin (every tenant)' : `tenant ${caller.tenantId}`;
}

function navLink(section: Section, current: Section | undefined, label: string): Html {
  return html`<a href="/ui/${section}" ${current === section ? trusted('aria-current="page"') : ''}>${label}</a>`;
}

/** The page shell: head (stylesheet inline, allowed by the CSP hash), header with navigation and logout. */
export function layout(opts: LayoutOptions): Html {
  const header = opts.session
    ? html`<header>
        <span class="brand">Herald</span>
        <nav>${navLink('webhooks', opts.section, 'Webhooks')}${navLink('deliveries', opts.section, 'Deliveries')}</nav>
        <span class="who" data-testid="caller">Signed in as ${callerLabel(opts.session.caller)}</span>
        <form method="post" action="/ui/logout">
          <input type="hidden" name="csrf" value="${opts.session.csrfToken}">
          <button type="submit">Log out</button>
        </form>
      </header>`
    : html`<header><span class="brand">Herald</span></header>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
${opts.refreshSeconds ? html`<meta http-equiv="refresh" content="${opts.refreshSeconds}">` : ''}
<title>${opts.title} · Herald</title>
<style>${trusted(STYLESHEET)}</style>
</head>
<body>
${header}
<main>
${opts.body}
</main>
</body>
</html>`;
}
