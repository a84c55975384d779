import { html, type Html } from './html.js';

/** For an admin token: the tenant field of a list's GET form (blank: every tenant). */
export function tenantField(tenant: string | undefined): Html {
  return html`<label>Tenant <input name="tenant" value="${tenant ?? ''}" placeholder="every tenant"></label>`;
}

/** For an admin token: a GET form that narrows the webhook list to one tenant. */
export function tenantPicker(page: 'webhooks', tenant: string | undefined): Html {
  return html`<form class="filters" method="get" action="/ui/${page}">
    ${tenantField(tenant)}
    <button class="primary" type="submit">Show</button>
  </form>`;
}
