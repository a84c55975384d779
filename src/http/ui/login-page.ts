import { html, type Html } from './html.js';
import { layout } from './layout.js';

/** The login form: one API token (HERALD_API_TOKENS, or the generated admin token file). */
export function loginPage(opts: { next: string; error?: string; notice?: string }): Html {
  return layout({
    title: 'Log in',
    body: html`<div class="login">
      <h1>Herald operator page</h1>
      <p class="muted">Log in with an API token: an admin token sees every tenant, a tenant token only its own.</p>
      ${opts.error ? html`<p class="error" role="alert" data-testid="login-error">${opts.error}</p>` : ''}
      ${opts.notice ? html`<p class="notice" role="status">${opts.notice}</p>` : ''}
      <form method="post" action="/ui/login">
        <input type="hidden" name="next" value="${opts.next}">
        <label>API token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
        <button class="primary" type="submit">Log in</button>
      </form>
    </div>`,
  });
}
